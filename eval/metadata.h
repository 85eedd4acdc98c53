// wsolevaluation metadata folders (evaluation.md B1): the small subset of the data layer that
// score-map evaluation needs, kept separate so it can merge into data/ later.
//
//   image_ids.txt      <image_id>                          evaluation order
//   class_labels.txt   <image_id>,<label>                  optional here
//   image_sizes.txt    <image_id>,<width>,<height>         needed for boxes (width first)
//   localization.txt   <image_id>,<x0>,<y0>,<x1>,<y1>      boxes: one line per box, inclusive corners
//                  or  <image_id>,<mask_png>,<ignore_png>  masks: one line per instance; only the
//                                                          first line of an image names the ignore mask
//
// LF line ends, the last line may lack one. The parser is strict where wsolevaluation would
// silently misbehave: every error names the file and line. Lines of one image may be anywhere
// (wsolevaluation collects them in a dict), but every id must be in image_ids.txt, every image
// needs its label/size/boxes exactly once (boxes: at least one), and boxes must lie inside the
// image (0 <= x0 <= x1 <= width - 1, likewise y).
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
    std::vector<int> labels;                    // empty when class_labels.txt is absent
    std::vector<ImageSize> sizes;               // empty when image_sizes.txt is absent or empty
    std::vector<std::vector<Box>> boxes;        // per image, original pixels; empty for mask metadata
    std::vector<std::vector<std::string>> mask_paths;  // per image; empty for box metadata
    std::vector<std::string> ignore_paths;             // per image; empty for box metadata

    size_t size() const { return image_ids.size(); }
    bool has_boxes() const { return !boxes.empty(); }
    bool has_masks() const { return !mask_paths.empty(); }
};

// Reads the folder; throws wsol::Error naming the file and line on any inconsistency.
WsolMetadata load_wsol_metadata(const std::string& dir);

// "val/ILSVRC2012_val_00000001.JPEG" -> "val/ILSVRC2012_val_00000001": the extension of the last
// path component removed (kept when that component has no dot, or starts with one).
std::string strip_extension(const std::string& image_id);

}  // namespace wsol::eval
