// Reports of an evaluation: the JSON file scripts read, the table people read, the per-image CSV.
//
// JSON of the score-map mode (the interface is fixed; docs/eval.md):
//   maxboxacc          MaxBoxAcc, largest contour, IoU >= 0.5 (percent)
//   maxboxacc_v2       MaxBoxAccV2: all contours, mean over IoU 0.3/0.5/0.7 (percent)
//   maxboxacc_at       {"30": .., "50": .., "70": ..}  largest contour, per IoU threshold
//   maxboxacc_v2_at    {"30": .., "50": .., "70": ..}  all contours, per IoU threshold
//   best_threshold     {"30": tau, ...}  the CAM threshold of each maximum (largest contour)
//   best_threshold_v2  {"30": tau, ...}  (all contours)
//   num_images         images evaluated;  num_skipped, skipped [{image_id, reason}]
//   pxap               PxAP in percent (mask metadata, instead of the box keys)
//   curves             cam_thresholds and per IoU threshold the BoxAcc curves and correct counts
//                      (or the PxAP precision/recall curve and histograms)
//   settings           what was evaluated, and how
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/legacy.h"
#include "eval/scoremap_eval.h"

namespace wsol::eval {

nlohmann::ordered_json score_map_report_json(const ScoreMapEvalResult& result, const ScoreMapEvalOptions& options);
std::string score_map_report_table(const ScoreMapEvalResult& result);

// One row per image: id, map size, GT boxes, and for MaxBoxAcc and every V2 IoU threshold the
// CAM threshold, the box, its IoU and whether it counts as correct. Boxes are "x0 y0 x1 y1",
// several separated by ';'.
std::string box_details_csv(const std::vector<ImageDetail>& details);

nlohmann::ordered_json legacy_report_json(const LegacyResult& result);
std::string legacy_report_table(const LegacyResult& result);

}  // namespace wsol::eval
