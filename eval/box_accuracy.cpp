// MaxBoxAcc / MaxBoxAccV2 accumulation (see box_accuracy.h; wsolevaluation's BoxEvaluator).
#include "eval/box_accuracy.h"

#include "engine/error.h"
#include "eval/numpy_compat.h"

namespace wsol::eval {

ImageBoxScores score_image_boxes(const QuantizedMap& map, std::span<const Box> gt,
                                 std::span<const double> cam_thresholds, BoxSweeper& sweeper) {
    std::vector<int> levels(cam_thresholds.size());
    for (size_t i = 0; i < levels.size(); ++i) levels[i] = threshold_level(cam_thresholds[i], map.max_level);
    return ImageBoxScores{sweeper.sweep(map, gt, levels)};
}

BoxAccumulator::BoxAccumulator(std::vector<double> cam_thresholds, std::vector<int> iou_thresholds)
    : cam_thresholds_(std::move(cam_thresholds)), iou_thresholds_(std::move(iou_thresholds)) {
    WSOL_CHECK(!cam_thresholds_.empty(), "BoxAccumulator: no CAM thresholds");
    WSOL_CHECK(!iou_thresholds_.empty(), "BoxAccumulator: no IoU thresholds");
    for (int d : iou_thresholds_) {
        WSOL_CHECK(d >= 0 && d <= 100, "BoxAccumulator: IoU threshold ", d, " is not a percentage in [0, 100]");
    }
    largest_.assign(iou_thresholds_.size(), std::vector<int64_t>(cam_thresholds_.size(), 0));
    all_ = largest_;
}

void BoxAccumulator::add(const ImageBoxScores& scores) {
    WSOL_CHECK(scores.per_threshold.size() == cam_thresholds_.size(), "BoxAccumulator::add: ",
               scores.per_threshold.size(), " scores for ", cam_thresholds_.size(), " CAM thresholds");
    for (size_t d = 0; d < iou_thresholds_.size(); ++d) {
        // wsolevaluation compares with _THRESHOLD / 100 in float64, inclusive.
        const double delta = double(iou_thresholds_[d]) / 100.0;
        for (size_t i = 0; i < cam_thresholds_.size(); ++i) {
            largest_[d][i] += scores.per_threshold[i].largest_iou >= delta;
            all_[d][i] += scores.per_threshold[i].all_iou >= delta;
        }
    }
    ++num_images_;
}

void BoxAccumulator::merge(const BoxAccumulator& other) {
    WSOL_CHECK(other.cam_thresholds_ == cam_thresholds_ && other.iou_thresholds_ == iou_thresholds_,
               "BoxAccumulator::merge: accumulators with different thresholds");
    for (size_t d = 0; d < iou_thresholds_.size(); ++d) {
        for (size_t i = 0; i < cam_thresholds_.size(); ++i) {
            largest_[d][i] += other.largest_[d][i];
            all_[d][i] += other.all_[d][i];
        }
    }
    num_images_ += other.num_images_;
}

BoxAccResult BoxAccumulator::result() const {
    WSOL_CHECK(num_images_ > 0, "BoxAccumulator::result: no image was evaluated");
    BoxAccResult r;
    r.num_images = num_images_;
    r.cam_thresholds = cam_thresholds_;
    auto curve = [&](int delta, const std::vector<int64_t>& counts) {
        BoxAccCurve c;
        c.iou_threshold = delta;
        c.num_correct = counts;
        c.box_acc.resize(counts.size());
        for (size_t i = 0; i < counts.size(); ++i) {
            c.box_acc[i] = double(counts[i]) * 100.0 / double(num_images_);
            if (c.box_acc[i] > c.box_acc[c.best_index]) c.best_index = i;  // first maximum, like argmax
        }
        c.max_box_acc = c.box_acc[c.best_index];
        return c;
    };
    std::vector<double> maxima;
    for (size_t d = 0; d < iou_thresholds_.size(); ++d) {
        r.largest.push_back(curve(iou_thresholds_[d], largest_[d]));
        r.all.push_back(curve(iou_thresholds_[d], all_[d]));
        maxima.push_back(r.all.back().max_box_acc);
        if (iou_thresholds_[d] == 50) r.maxboxacc = r.largest.back().max_box_acc;
    }
    // np.average: numpy's sum, then division by the count.
    r.maxboxacc_v2 = numpy_sum(maxima) / double(maxima.size());
    return r;
}

}  // namespace wsol::eval
