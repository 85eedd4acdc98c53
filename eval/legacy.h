// The legacy CAM localization protocol used by SAT, CSFN and TS-CAM (sat_csfn.md A2 and A5):
// Top-1 / Top-5 / GT-known Loc and Top-1 / Top-5 Cls over a short list of thresholds.
//
// Per image and threshold tau:
//   map: min-max normalise the raw map in float32 with (m - min) / (max - min + 1e-5), then
//        OpenCV bilinear resize to crop x crop (legacy_prepare_map);
//   mask: map > tau, compared in float32 (numpy compares a float32 array with float32(tau));
//   box: the 8-connected component with the most pixels (ties: the one whose first pixel comes
//        first in raster order), as [x_min, y_min, x_max + 1, y_max + 1]; no pixel above tau gives
//        the whole crop [0, 0, W, H];
//   IoU: inclusive +1 convention, best over the image's GT boxes (legacy_crop_box puts them on
//        the crop);
//   GT-known hit: IoU >= 0.5; Top-1 Loc: hit and the top-1 class is the label; Top-5 Loc: hit
//        and the label is among the top 5. The same class-agnostic box serves every class.
// The reported threshold is the first one maximising GT-known + Top-1 Loc.
//
// Records come from any source (a model run, a file of predictions): eval/record.h.
#pragma once

#include <cstdint>
#include <vector>

#include "eval/record.h"

namespace wsol::eval {

// SAT's normalize_map: float32 min-max with +1e-5 in the denominator, then bilinear resize.
ScoreMap legacy_prepare_map(const ScoreMap& raw, int crop_size = 224);

// The predicted box at threshold tau of an already prepared map.
Box legacy_box(const ScoreMap& map, double tau);

struct LegacyThresholdResult {
    double threshold = 0.0;
    int64_t gt_known = 0, top1_loc = 0, top5_loc = 0;  // image counts
    int64_t iou30 = 0, iou50 = 0, iou70 = 0;           // images with best IoU >= 0.3 / 0.5 / 0.7
};

struct LegacyResult {
    int64_t num_images = 0;
    int64_t top1_cls = 0, top5_cls = 0;
    std::vector<LegacyThresholdResult> per_threshold;
    size_t best_index = 0;  // first threshold maximising gt_known + top1_loc
    double percent(int64_t count) const { return num_images ? double(count) * 100.0 / double(num_images) : 0.0; }
};

class LegacyAccumulator {
public:
    explicit LegacyAccumulator(std::vector<double> thresholds);
    // record.score_map must be prepared (legacy_prepare_map) and record.gt_boxes on its grid.
    void add(const EvalRecord& record);
    void merge(const LegacyAccumulator& other);
    LegacyResult result() const;

private:
    LegacyResult acc_;
};

}  // namespace wsol::eval
