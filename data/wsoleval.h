// wsolevaluation metadata (Choe et al., CVPR 2020; ../shared/reference/evaluation.md B1), for any
// dataset: metadata/<DATASET>/<split>/ holding
//   image_ids.txt      <image_id>                         (fixes the order)
//   class_labels.txt   <image_id>,<label>                 (0-based)
//   image_sizes.txt    <image_id>,<width>,<height>        (optional; empty for ILSVRC/train, OpenImages)
//   localization.txt   <image_id>,<x0>,<y0>,<x1>,<y1>     boxes, one line per box (CUB, ILSVRC), or
//                      <image_id>,<mask png>,<ignore png> masks, one line per instance, the ignore path
//                      only on the first (OpenImages; wsol-synth writes this form as
//                      mask_localization.txt next to the box file).
// Image ids are paths relative to the dataset's image root (dataset/CUB, dataset/ILSVRC, ...), e.g.
// "val/ILSVRC2012_val_00000001.JPEG" or CUBV2's "001.Black_footed_Albatross/30107316117.jpg".
// Box corners are inclusive integer pixels (x1 <= W - 1). The CUBV2 and ImageNetV2 `val` splits
// (train-fullsup) read the same way.
//
// Lines are matched by image id, as the reference loader does (it builds dictionaries), so the
// files may list ids in different orders; an id that is not in image_ids.txt, an image without a
// label, a duplicated id or label, or a malformed line is an error naming the file and line.
#pragma once

#include <string>

#include "data/dataset.h"

namespace wsol::data {

struct WsolevalTexts {
    std::string image_ids, class_labels, image_sizes, localization;
    std::string mask_localization;  // optional second localization file in the mask form
};

// Parses texts already in memory; `metadata_dir` names the files in messages.
Dataset parse_wsoleval(const WsolevalTexts& texts, const std::string& metadata_dir, const std::string& image_root,
                       const ReadOptions& options = {});

// Reads <metadata_dir>/{image_ids,class_labels,image_sizes,localization}.txt (and
// mask_localization.txt when present); image paths become <image_root>/<image_id>.
Dataset read_wsoleval(const std::string& metadata_dir, const std::string& image_root, const ReadOptions& options = {});

}  // namespace wsol::data
