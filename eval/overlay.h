// Visual check of an evaluation: per-image PNGs (the image resized to the score map's grid, the
// heat map blended over it, GT boxes in green, the MaxBoxAcc box in red, the best-matching
// MaxBoxAccV2 box at IoU 0.5 in yellow) and an HTML page listing them with their IoUs.
#pragma once

#include <string>
#include <vector>

#include "eval/scoremap_eval.h"

namespace wsol::eval {

// Writes `png_path` atomically. The image (any format OpenCV reads) is resized to the map's size
// (bilinear, as the evaluation input is); the drawing is upscaled by an integer factor so that
// the short side is at least 448 pixels.
void write_overlay_png(const std::string& png_path, const std::string& image_path, const ScoreMap& map,
                       const ImageDetail& detail);

// Writes <dir>/index.html: one row per detail, linking <dir>/<png_names[i]>.
void write_overlay_index(const std::string& dir, const std::vector<ImageDetail>& details,
                         const std::vector<std::string>& png_names, const std::string& title);

}  // namespace wsol::eval
