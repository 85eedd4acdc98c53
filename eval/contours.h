// Predicted boxes at one threshold, computed the way wsolevaluation computes them: OpenCV itself.
//
// This is the reference path (evaluation.md B4): cv::threshold(level, THRESH_BINARY), then
// cv::findContours(RETR_TREE, CHAIN_APPROX_SIMPLE); no contour gives the single box [0,0,0,0];
// the "largest" selection keeps the first contour of maximal cv::contourArea in OpenCV's returned
// order (Python's max()); every kept contour gives
//     [x, y, min(x + w, W - 1), min(y + h, H - 1)]   from cv::boundingRect (x, y, w, h),
// i.e. one pixel beyond the region on the right and bottom unless clipped.
//
// It is exact by construction but runs one full contour extraction per threshold. The sweep in
// eval/box_sweep.h computes the same boxes for all thresholds at once and is tested against this.
#pragma once

#include <vector>

#include "eval/box.h"
#include "eval/scoremap.h"

namespace wsol::eval {

enum class ContourSelection {
    Largest,  // MaxBoxAcc (CVPR version): only the contour of largest polygon area
    All,      // MaxBoxAccV2 (multi_contour_eval): every contour, hole contours included
};

// Boxes of the foreground {levels > level}. Never empty.
std::vector<Box> contour_boxes(const QuantizedMap& map, int level, ContourSelection selection);

}  // namespace wsol::eval
