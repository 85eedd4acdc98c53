// PxAP: pixel-wise average precision of score maps against GT masks (evaluation.md B8;
// wsolevaluation's MaskEvaluator, used for OpenImages).
//
// Every pixel's score goes into one of n + 2 bins with right edges [tau_0 .. tau_{n-1}, 1, 2, 3]
// (numpy.histogram: [tau_i, tau_{i+1}), ..., [1, 2), [2, 3]); GT = 1 pixels into the positive
// histogram, GT = 0 pixels into the negative one, ignore pixels (255) nowhere. Over the whole split:
// TP_k, FP_k = reverse cumulative sums, precision and recall per k, and
//     PxAP = 100 * sum_{k >= 1, TP_k + FP_k > 0} P_k * (R_k - R_{k-1}),
// with numpy's operation order, so the printed digits match.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "eval/scoremap.h"

namespace wsol::eval {

// GT label map: 0 = background, 1 = foreground, 255 = ignored.
struct GtMask {
    int height = 0, width = 0;
    std::vector<uint8_t> labels;
};

// wsolevaluation's get_mask: each PNG read as grayscale (OpenCV), resized nearest-neighbour to
// width x height as float32, foreground where > 0.5; fg = OR of the instances; ignore = the
// ignore PNG (same processing) AND NOT fg. Paths are relative to `mask_root`.
GtMask load_gt_mask(const std::string& mask_root, std::span<const std::string> mask_paths,
                    const std::string& ignore_path, int height, int width);

struct PxapResult {
    double pxap = 0.0;                        // percent
    std::vector<double> precision, recall;    // per k (highest bin first), n + 2 entries each
    std::vector<int64_t> positive_histogram;  // per bin, ascending
    std::vector<int64_t> negative_histogram;
};

class PxapAccumulator {
public:
    explicit PxapAccumulator(std::vector<double> cam_thresholds);
    // `map` must be valid (check_score_map) and of the mask's size.
    void add(const ScoreMap& map, const GtMask& mask, const std::string& source);
    void merge(const PxapAccumulator& other);
    // Throws "no positive ground truth" / "no positive prediction" as wsolevaluation does.
    PxapResult result() const;

private:
    size_t bin_of(double score) const;
    std::vector<double> edges_;  // tau_0 .. tau_{n-1}, 1, 2, 3
    std::vector<int64_t> positive_, negative_;
};

}  // namespace wsol::eval
