// The list files the SAT and CSFN code reads (../shared/reference/sat_csfn.md C1, C2), byte formats
// kept as shipped (CSFN's copies have CRLF line ends):
//
//   CUB test_list.txt          "<class_dir>/<file>.jpg;<label0>"            paired line by line with
//   CUB test_bounding_box.txt  "<x0> <y0> <x1> <y1> <H> <W>"                (note: height, then width)
//     -> read_sat_cub_test. Two files that do not have the same number of entries "disagree".
//        Boxes are float corners (x1 = x + width of the official file); images live under
//        <image_root>/<class_dir>/<file> (SAT reads <root>/test/...).
//   ILSVRC val_gt.txt          "<wnid>\\<file>.JPEG <W> <H> ; x0 y0 x1 y1 [x0 y0 x1 y1 ...]"
//     -> read_val_gt. The path separator is two literal backslashes (a Windows-era key); the
//        image is <image_root>/<wnid>/<file>; width comes before height here; 1..k boxes, 0-based
//        inclusive corners; the label is the wnid's index among the sorted training wnids.
//   "<path> <label0>" or "<path>;<label0>" lists: CSFN's cub_bird_train.txt and ImageNet train.txt
//   (auxiliary images), CSFN's train_list.txt / images_list.txt / val_list.txt
//     -> read_path_label_list (the separator is ';' when the line has one, else the last space).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace wsol::data {

Dataset parse_sat_cub_test(const std::string& list_text, const std::string& box_text, const std::string& list_source,
                           const std::string& box_source, const std::string& image_root,
                           const ReadOptions& options = {});
Dataset read_sat_cub_test(const std::string& test_list, const std::string& bounding_boxes,
                          const std::string& image_root, const ReadOptions& options = {});

// `wnids`: the sorted training classes; empty = the sorted distinct wnids of the file itself.
Dataset parse_val_gt(const std::string& text, const std::string& source, const std::string& image_root,
                     const std::vector<std::string>& wnids, const ReadOptions& options = {});
Dataset read_val_gt(const std::string& path, const std::string& image_root, const std::vector<std::string>& wnids = {},
                    const ReadOptions& options = {});

Dataset parse_path_label_list(const std::string& text, const std::string& source, const std::string& image_root,
                              const ReadOptions& options = {});
Dataset read_path_label_list(const std::string& path, const std::string& image_root, const ReadOptions& options = {});

}  // namespace wsol::data
