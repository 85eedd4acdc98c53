// MaxBoxAcc and MaxBoxAccV2 (Choe et al., CVPR 2020; evaluation.md B6), accumulated image by image.
//
// For every CAM threshold tau_i and IoU threshold delta, BoxAcc(tau_i, delta) is the percentage
// of images whose best box at tau_i reaches IoU >= delta with one of their GT boxes (best match).
// MaxBoxAcc(delta) is the maximum over tau_i, the threshold chosen separately for each delta.
//
//   maxboxacc     the CVPR metric: the largest contour only, delta = 0.5
//   maxboxacc_v2  all contours, mean of MaxBoxAcc over delta in {0.3, 0.5, 0.7}
//
// The counts are integers, so partial accumulators (one per thread) merge exactly. The result
// reproduces wsolevaluation's float arithmetic: accuracy = count * 100. / N, the mean by numpy's
// summation order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eval/box_sweep.h"

namespace wsol::eval {

struct BoxAccCurve {
    int iou_threshold = 50;            // delta, in percent
    std::vector<int64_t> num_correct;  // per CAM threshold: images with best IoU >= delta / 100
    std::vector<double> box_acc;       // per CAM threshold: 100 * num_correct / N
    double max_box_acc = 0.0;          // max over the thresholds
    size_t best_index = 0;             // the first threshold reaching it
};

struct BoxAccResult {
    int64_t num_images = 0;
    std::vector<double> cam_thresholds;
    std::vector<BoxAccCurve> largest;  // one curve per delta, largest contour (MaxBoxAcc)
    std::vector<BoxAccCurve> all;      // one curve per delta, all contours (MaxBoxAccV2)
    double maxboxacc = 0.0;            // largest contour at delta = 50 (0 when 50 is not in the list)
    double maxboxacc_v2 = 0.0;         // mean over the deltas of the all-contour maxima
};

// Per-image scores at every CAM threshold (what an accumulator needs, and what per-image reports
// show): best IoU of the largest contour's box and over all contours' boxes.
struct ImageBoxScores {
    std::vector<LevelResult> per_threshold;  // one per CAM threshold
};

// Runs the sweep at the levels int(tau_i * max_level) of every CAM threshold.
ImageBoxScores score_image_boxes(const QuantizedMap& map, std::span<const Box> gt,
                                 std::span<const double> cam_thresholds, BoxSweeper& sweeper);

class BoxAccumulator {
public:
    explicit BoxAccumulator(std::vector<double> cam_thresholds, std::vector<int> iou_thresholds = {30, 50, 70});

    void add(const ImageBoxScores& scores);
    void merge(const BoxAccumulator& other);
    BoxAccResult result() const;

    const std::vector<double>& cam_thresholds() const { return cam_thresholds_; }
    const std::vector<int>& iou_thresholds() const { return iou_thresholds_; }
    int64_t num_images() const { return num_images_; }

private:
    std::vector<double> cam_thresholds_;
    std::vector<int> iou_thresholds_;
    int64_t num_images_ = 0;
    // [delta][threshold] counts, largest contour and all contours.
    std::vector<std::vector<int64_t>> largest_, all_;
};

}  // namespace wsol::eval
