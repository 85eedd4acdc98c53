// wsolevaluation metadata folders (evaluation.md B1) as score-map evaluation needs them:
//
//   image_ids.txt      <image_id>                          evaluation order
//   class_labels.txt   <image_id>,<label>                  optional here (labels are not needed)
//   image_sizes.txt    <image_id>,<width>,<height>         needed for boxes (width first)
//   localization.txt   <image_id>,<x0>,<y0>,<x1>,<y1>      boxes: one line per box, inclusive corners
//                  or  <image_id>,<mask_png>,<ignore_png>  masks: one line per instance; only the
//                                                          first line of an image names the ignore mask
//
// The files are read by the project's one reader of the format, data::read_wsoleval
// (data/wsoleval.h): LF or CRLF line ends, blank lines skipped, lines of one image anywhere,
// every error naming the file and line. On top of it, evaluation needs: at least one image; one
// kind of ground truth for all of them (at least one box per image, with the image sizes; or masks,
// each image naming its ignore mask, which wsolevaluation reads); sizes for all images or none.
// A box must start inside its image; its end may overshoot the border (16 of CUB's official test
// boxes do), which the protocols handle.
#pragma once

#include <string>
#include <vector>

#include "eval/box.h"

namespace wsol::eval {

struct ImageSize {
    int width = 0, height = 0;
};

struct WsolMetadata {
    std::string dir;
    std::vector<std::string> image_ids;
    std::vector<int> labels;                    // per image; empty when class_labels.txt is absent
    std::vector<ImageSize> sizes;               // empty when image_sizes.txt is absent or empty
    std::vector<std::vector<Box>> boxes;        // per image, original pixels; empty for mask metadata
    std::vector<std::vector<std::string>> mask_paths;  // per image; empty for box metadata
    std::vector<std::string> ignore_paths;             // per image; empty for box metadata

    size_t size() const { return image_ids.size(); }
    bool has_boxes() const { return !boxes.empty(); }
    bool has_masks() const { return !mask_paths.empty(); }
};

// Reads the folder; throws wsol::Error naming the file (and line) on any inconsistency.
WsolMetadata load_wsol_metadata(const std::string& dir);

// "val/ILSVRC2012_val_00000001.JPEG" -> "val/ILSVRC2012_val_00000001": the extension of the last
// path component removed (kept when that component has no dot, or starts with one).
std::string strip_extension(const std::string& image_id);

}  // namespace wsol::eval
