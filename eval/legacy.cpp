// The legacy SAT/CSFN/TS-CAM localization protocol (see legacy.h; sat_csfn.md A2, A5).
#include "eval/legacy.h"

#include <algorithm>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "engine/error.h"

namespace wsol::eval {

ScoreMap legacy_prepare_map(const ScoreMap& raw, int crop_size) {
    WSOL_CHECK(raw.height > 0 && raw.width > 0, "legacy_prepare_map: empty map");
    std::vector<float> values(raw.values.begin(), raw.values.end());  // the model's float32 output
    const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
    const float lo = *lo_it, hi = *hi_it;
    // numpy 1.x (the published code's environment): float32 scalar (max - min) plus the Python
    // float 1e-5 is a float64, which then divides the float32 array as a float32.
    const float denominator = float(double(hi - lo) + 1e-5);
    for (float& v : values) v = (v - lo) / denominator;
    const cv::Mat src(raw.height, raw.width, CV_32FC1, values.data());
    cv::Mat dst;
    cv::resize(src, dst, cv::Size(crop_size, crop_size), 0, 0, cv::INTER_LINEAR);
    ScoreMap out(crop_size, crop_size);
    for (int y = 0; y < crop_size; ++y) {
        const float* row = dst.ptr<float>(y);
        for (int x = 0; x < crop_size; ++x) out.at(y, x) = row[x];
    }
    return out;
}

Box legacy_box(const ScoreMap& map, double tau) {
    const int h = map.height, w = map.width;
    const float threshold = float(tau);
    const size_t n = size_t(h) * size_t(w);
    // Union-find over the foreground in raster order, joining each pixel to its already visited
    // 8-neighbours (left, and the three above).
    std::vector<int32_t> parent(n, -1);
    auto find = [&](int32_t p) {
        while (parent[size_t(p)] != p) {
            parent[size_t(p)] = parent[size_t(parent[size_t(p)])];
            p = parent[size_t(p)];
        }
        return p;
    };
    auto unite = [&](int32_t a, int32_t b) {
        a = find(a);
        b = find(b);
        if (a != b) parent[size_t(std::max(a, b))] = std::min(a, b);  // the root is the first pixel
    };
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const int32_t p = y * w + x;
            if (!(float(map.values[size_t(p)]) > threshold)) continue;
            parent[size_t(p)] = p;
            const int32_t candidates[4][2] = {{y, x - 1}, {y - 1, x - 1}, {y - 1, x}, {y - 1, x + 1}};
            for (const auto& c : candidates) {
                if (c[0] < 0 || c[1] < 0 || c[1] >= w) continue;
                const int32_t q = c[0] * w + c[1];
                if (parent[size_t(q)] >= 0) unite(p, q);
            }
        }
    }
    // Pixel count and bounding box per component; roots are first pixels, so the raster order of
    // roots is scikit-image's label order.
    std::vector<int32_t> count(n, 0);
    std::vector<Box> bbox(n, Box{w, h, -1, -1});
    for (int32_t p = 0; p < int32_t(n); ++p) {
        if (parent[size_t(p)] < 0) continue;
        const int32_t r = find(p);
        ++count[size_t(r)];
        Box& b = bbox[size_t(r)];
        const int y = p / w, x = p % w;
        b = Box{std::min(b.x0, x), std::min(b.y0, y), std::max(b.x1, x), std::max(b.y1, y)};
    }
    int32_t best = -1;
    for (int32_t p = 0; p < int32_t(n); ++p) {
        if (count[size_t(p)] > 0 && (best < 0 || count[size_t(p)] > count[size_t(best)])) best = p;  // first wins ties
    }
    if (best < 0) return Box{0, 0, w, h};  // nothing above tau: the whole crop
    const Box& b = bbox[size_t(best)];
    return Box{b.x0, b.y0, b.x1 + 1, b.y1 + 1};  // regionprops' exclusive end coordinates
}

LegacyAccumulator::LegacyAccumulator(std::vector<double> thresholds) {
    WSOL_CHECK(!thresholds.empty(), "LegacyAccumulator: no thresholds");
    for (double t : thresholds) acc_.per_threshold.push_back(LegacyThresholdResult{t});
}

void LegacyAccumulator::add(const EvalRecord& record) {
    WSOL_CHECK(!record.gt_boxes.empty(), "LegacyAccumulator::add: image '", record.image_id, "' has no GT box");
    const bool top1 = record.top1_correct(), top5 = record.top5_correct();
    acc_.top1_cls += top1;
    acc_.top5_cls += top5;
    for (LegacyThresholdResult& r : acc_.per_threshold) {
        const double iou = best_iou(legacy_box(record.score_map, r.threshold), record.gt_boxes);
        const bool hit = iou >= 0.5;
        r.gt_known += hit;
        r.top1_loc += hit && top1;
        r.top5_loc += hit && top5;
        r.iou30 += iou >= 0.3;
        r.iou50 += hit;
        r.iou70 += iou >= 0.7;
    }
    ++acc_.num_images;
}

void LegacyAccumulator::merge(const LegacyAccumulator& other) {
    WSOL_CHECK(other.acc_.per_threshold.size() == acc_.per_threshold.size(),
               "LegacyAccumulator::merge: different threshold lists");
    acc_.num_images += other.acc_.num_images;
    acc_.top1_cls += other.acc_.top1_cls;
    acc_.top5_cls += other.acc_.top5_cls;
    for (size_t i = 0; i < acc_.per_threshold.size(); ++i) {
        LegacyThresholdResult& a = acc_.per_threshold[i];
        const LegacyThresholdResult& b = other.acc_.per_threshold[i];
        WSOL_CHECK(a.threshold == b.threshold, "LegacyAccumulator::merge: different threshold lists");
        a.gt_known += b.gt_known;
        a.top1_loc += b.top1_loc;
        a.top5_loc += b.top5_loc;
        a.iou30 += b.iou30;
        a.iou50 += b.iou50;
        a.iou70 += b.iou70;
    }
}

LegacyResult LegacyAccumulator::result() const {
    LegacyResult r = acc_;
    // SAT's selection: strictly greater GT-known + Top-1 Loc (in percent) replaces the best, starting from 0.
    double best = 0.0;
    r.best_index = 0;
    for (size_t i = 0; i < r.per_threshold.size(); ++i) {
        const double score = r.percent(r.per_threshold[i].gt_known) + r.percent(r.per_threshold[i].top1_loc);
        if (score > best) {
            best = score;
            r.best_index = i;
        }
    }
    return r;
}

}  // namespace wsol::eval
