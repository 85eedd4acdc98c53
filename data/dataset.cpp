// Record validation and the skip-or-throw policy shared by every reader (see dataset.h).
#include "data/dataset.h"

#include <cmath>
#include <sstream>

#include "data/decode.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

void validate_record(const Record& r, int64_t num_classes, const std::string& where) {
    WSOL_CHECK(r.label >= 0 && (num_classes <= 0 || r.label < num_classes), where, "unknown class id ", r.label,
               " for ", r.image_id,
               num_classes > 0 ? " (the dataset has classes 0.." + std::to_string(num_classes - 1) + ")"
                               : std::string(" (labels must be >= 0)"));
    WSOL_CHECK(r.width >= 0 && r.height >= 0, where, "negative image size ", r.width, "x", r.height, " for ",
               r.image_id);
    for (const Box& b : r.boxes) {
        WSOL_CHECK(std::isfinite(b.x0) && std::isfinite(b.y0) && std::isfinite(b.x1) && std::isfinite(b.y1), where,
                   "box ", box_str(b), " of ", r.image_id, " is not finite");
        WSOL_CHECK(b.x0 <= b.x1 && b.y0 <= b.y1, where, "box ", box_str(b), " of ", r.image_id,
                   " has its end before its start");
        WSOL_CHECK(b.x0 >= 0 && b.y0 >= 0, where, "box ", box_str(b), " of ", r.image_id,
                   " has a negative coordinate (outside the image)");
        if (r.width > 0 && r.height > 0) {
            WSOL_CHECK(b.x0 < r.width && b.y0 < r.height, where, "box ", box_str(b), " lies outside the ", r.width, "x",
                       r.height, " image ", r.image_id);
        }
    }
}

bool admit_record(Dataset& dataset, Record record, const ReadOptions& options, const std::string& where) {
    try {
        if (options.check_files || options.read_image_sizes) {
            WSOL_CHECK(file_exists(record.path), where, "image file ", record.path, " does not exist");
        }
        if (options.read_image_sizes && (record.width == 0 || record.height == 0)) {
            const ImageInfo info = peek_image_info(read_file(record.path), record.path);
            record.width = info.width;
            record.height = info.height;
        }
        const int64_t classes = options.num_classes > 0 ? options.num_classes : dataset.num_classes;
        validate_record(record, classes, where);
    } catch (const Error& e) {
        if (!options.skip_bad) throw;
        dataset.skipped.push_back(SkippedInput{where.empty() ? record.path : where, e.what()});
        return false;
    }
    dataset.records.push_back(std::move(record));
    return true;
}

void reject_input(Dataset& dataset, const ReadOptions& options, const std::string& where, const std::string& reason) {
    if (!options.skip_bad) WSOL_FAIL(where, reason);
    dataset.skipped.push_back(SkippedInput{where, where + reason});
}

std::string skipped_summary(const std::vector<SkippedInput>& skipped, size_t max_listed) {
    if (skipped.empty()) return "";
    std::ostringstream out;
    out << skipped.size() << (skipped.size() == 1 ? " input" : " inputs") << " skipped (skip_bad_images)";
    for (size_t i = 0; i < skipped.size() && i < max_listed; ++i) out << "\n  " << skipped[i].reason;
    if (skipped.size() > max_listed) out << "\n  ... and " << skipped.size() - max_listed << " more";
    return out.str();
}

std::vector<std::vector<int64_t>> indices_by_class(const Dataset& dataset) {
    std::vector<std::vector<int64_t>> per_class(size_t(std::max<int64_t>(dataset.num_classes, 0)));
    for (int64_t i = 0; i < dataset.size(); ++i) {
        const int64_t label = dataset.records[size_t(i)].label;
        WSOL_CHECK(label >= 0, dataset.name, ": record ", i, " has no label");
        if (size_t(label) >= per_class.size()) per_class.resize(size_t(label) + 1);
        per_class[size_t(label)].push_back(i);
    }
    return per_class;
}

}  // namespace wsol::data
