// PxAP accumulation (see pxap.h; wsolevaluation's MaskEvaluator and get_mask).
#include "eval/pxap.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/error.h"
#include "eval/numpy_compat.h"

namespace wsol::eval {

namespace {

// One PNG as a boolean mask at height x width: grayscale, float32, nearest resize, > 0.5.
std::vector<uint8_t> load_binary_mask(const std::string& path, int height, int width) {
    const cv::Mat gray = cv::imread(path, cv::IMREAD_GRAYSCALE);
    WSOL_CHECK(!gray.empty(), path, ": cannot read the mask image (missing or not an image)");
    cv::Mat as_float, resized;
    gray.convertTo(as_float, CV_32F);
    cv::resize(as_float, resized, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    std::vector<uint8_t> out(size_t(height) * size_t(width));
    for (int y = 0; y < height; ++y) {
        const float* row = resized.ptr<float>(y);
        for (int x = 0; x < width; ++x) out[size_t(y) * size_t(width) + size_t(x)] = row[x] > 0.5f;
    }
    return out;
}

}  // namespace

GtMask load_gt_mask(const std::string& mask_root, std::span<const std::string> mask_paths,
                    const std::string& ignore_path, int height, int width) {
    WSOL_CHECK(!mask_paths.empty(), "load_gt_mask: no instance mask for ignore mask ", ignore_path);
    GtMask mask;
    mask.height = height;
    mask.width = width;
    mask.labels.assign(size_t(height) * size_t(width), 0);
    for (const std::string& path : mask_paths) {
        const std::vector<uint8_t> instance = load_binary_mask(mask_root + "/" + path, height, width);
        for (size_t i = 0; i < instance.size(); ++i) mask.labels[i] |= instance[i];
    }
    const std::vector<uint8_t> ignore = load_binary_mask(mask_root + "/" + ignore_path, height, width);
    for (size_t i = 0; i < ignore.size(); ++i) {
        if (ignore[i] && !mask.labels[i]) mask.labels[i] = 255;  // ignored, and never foreground
    }
    return mask;
}

PxapAccumulator::PxapAccumulator(std::vector<double> cam_thresholds) : edges_(std::move(cam_thresholds)) {
    WSOL_CHECK(!edges_.empty(), "PxapAccumulator: no CAM thresholds");
    edges_.insert(edges_.end(), {1.0, 2.0, 3.0});
    for (size_t i = 1; i < edges_.size(); ++i) {
        WSOL_CHECK(edges_[i] > edges_[i - 1], "PxapAccumulator: bin edges must increase (", edges_[i - 1], ", ",
                   edges_[i], ")");
    }
    positive_.assign(edges_.size() - 1, 0);
    negative_ = positive_;
}

size_t PxapAccumulator::bin_of(double score) const {
    // numpy.histogram: bin i holds edges[i] <= v < edges[i + 1]; the last bin is closed. The
    // thresholds are nearly uniform, so start from v / step and correct by comparing with the
    // actual edges (exact, whatever the rounding of the guess).
    const size_t bins = edges_.size() - 1;
    if (score >= edges_[bins]) return bins - 1;
    const double step = edges_.size() > 4 ? edges_[1] - edges_[0] : 1.0;
    size_t i = size_t(std::clamp(std::floor((score - edges_[0]) / step), 0.0, double(bins - 1)));
    while (i + 1 < bins && edges_[i + 1] <= score) ++i;
    while (i > 0 && edges_[i] > score) --i;
    return i;
}

void PxapAccumulator::add(const ScoreMap& map, const GtMask& mask, const std::string& source) {
    WSOL_CHECK(map.height == mask.height && map.width == mask.width, source, ": score map ", map.height, "x",
               map.width, " and GT mask ", mask.height, "x", mask.width, " differ in size");
    for (size_t i = 0; i < map.values.size(); ++i) {
        const double v = map.values[i];
        if (!(v >= edges_.front() && v <= edges_.back())) continue;  // outside every bin (numpy drops it)
        const uint8_t label = mask.labels[i];
        if (label == 1) ++positive_[bin_of(v)];
        else if (label == 0) ++negative_[bin_of(v)];
    }
}

void PxapAccumulator::merge(const PxapAccumulator& other) {
    WSOL_CHECK(other.edges_ == edges_, "PxapAccumulator::merge: accumulators with different thresholds");
    for (size_t i = 0; i < positive_.size(); ++i) {
        positive_[i] += other.positive_[i];
        negative_[i] += other.negative_[i];
    }
}

PxapResult PxapAccumulator::result() const {
    const size_t k = positive_.size();
    PxapResult r;
    r.positive_histogram = positive_;
    r.negative_histogram = negative_;
    // Same float64 steps as MaskEvaluator.compute: reversed cumulative sums, then P and R.
    std::vector<double> pos(positive_.begin(), positive_.end()), neg(negative_.begin(), negative_.end());
    const double num_true = numpy_sum(pos);
    std::vector<double> tp(k), fp(k);
    double run_tp = 0.0, run_fp = 0.0;
    for (size_t j = 0; j < k; ++j) {
        run_tp += pos[k - 1 - j];
        run_fp += neg[k - 1 - j];
        tp[j] = run_tp;
        fp[j] = run_fp;
    }
    bool any_true = false, any_predicted = false;
    r.precision.resize(k);
    r.recall.resize(k);
    for (size_t j = 0; j < k; ++j) {
        const double fn = num_true - tp[j];
        any_true |= tp[j] + fn > 0;
        any_predicted |= tp[j] + fp[j] > 0;
        r.precision[j] = tp[j] / (tp[j] + fp[j]);  // NaN where nothing is predicted, as in numpy
        r.recall[j] = tp[j] / (tp[j] + fn);
    }
    WSOL_CHECK(any_true, "PxAP: no positive ground truth in the evaluated masks");
    WSOL_CHECK(any_predicted, "PxAP: no positive prediction in the evaluated score maps");
    std::vector<double> terms;
    for (size_t j = 1; j < k; ++j) {
        if (tp[j] + fp[j] != 0) terms.push_back(r.precision[j] * (r.recall[j] - r.recall[j - 1]));
    }
    r.pxap = numpy_sum(terms) * 100.0;
    return r;
}

}  // namespace wsol::eval
