// What every dataset reader produces: a list of records (one per image), plus the class names.
//
// Readers (one file each): wsoleval.h (wsolevaluation metadata, any dataset), cub.h (the official
// CUB-200-2011 archive), ilsvrc.h (ImageNet train folders, validation XML, any ImageFolder tree),
// seed_lists.h (the list files SAT and CSFN read). All of them report bad input the same way:
//   * by default a wsol::Error naming the file and line (missing image when checked, a list file
//     whose lines disagree, a box outside the image, an unknown class id, malformed numbers);
//   * with ReadOptions::skip_bad the offending record is dropped, and the reason is kept in
//     Dataset::skipped so the caller can report "N images skipped" at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace wsol::data {

struct Record {
    std::string image_id;  // the image's key in its list file (usually a relative path)
    std::string path;      // the file to open
    int64_t label = -1;    // 0-based class index
    int width = 0;         // from the list file or the image header; 0 when unknown
    int height = 0;
    std::vector<Box> boxes;               // original pixel coordinates, in the source's convention (image.h)
    std::vector<std::string> mask_paths;  // wsolevaluation mask metadata (PxAP), relative to a mask root
    std::string ignore_path;
};

struct SkippedInput {
    std::string where;   // "file:line" or an image path
    std::string reason;  // the error message that would have been thrown
};

struct Dataset {
    std::string name;  // for messages, e.g. "wsoleval CUB/test"
    std::vector<Record> records;
    int64_t num_classes = 0;
    std::vector<std::string> class_names;  // empty when the source has none
    std::vector<SkippedInput> skipped;     // what skip_bad dropped while reading

    int64_t size() const { return int64_t(records.size()); }
};

struct ReadOptions {
    // Drop bad records (reported in Dataset::skipped) instead of throwing.
    bool skip_bad = false;
    // Check at read time that every image file exists (otherwise a missing file surfaces when loaded).
    bool check_files = false;
    // Read width/height from each image's header when the list gives none (needed to check boxes
    // against the image; costs one small read per image).
    bool read_image_sizes = false;
    // The number of classes labels must stay below; 0 = take it from the source (its class list, or
    // the largest label + 1).
    int64_t num_classes = 0;
};

// Checks one record: label in [0, num_classes), boxes finite with x0 <= x1 and y0 <= y1, and, when
// the image size is known, the box's start inside the image. (The end may overshoot: 16 of CUB's
// official test boxes end up to 32 px beyond the border, and both protocols clamp; a box that starts
// outside the image cannot be a box of that image.) Throws naming `where`.
void validate_record(const Record& record, int64_t num_classes, const std::string& where);

// Runs the checks the options ask for (files, sizes, validate_record); with skip_bad, a failure moves
// the record into dataset.skipped and returns false instead of throwing.
bool admit_record(Dataset& dataset, Record record, const ReadOptions& options, const std::string& where);

// Throws when skip_bad is off, records the skip otherwise. For failures found before a record exists.
void reject_input(Dataset& dataset, const ReadOptions& options, const std::string& where, const std::string& reason);

// "N inputs skipped: first ones ..." (empty when nothing was skipped).
std::string skipped_summary(const std::vector<SkippedInput>& skipped, size_t max_listed = 5);

// The records of each class, in dataset order: per_class[label] = indices.
std::vector<std::vector<int64_t>> indices_by_class(const Dataset& dataset);

}  // namespace wsol::data
