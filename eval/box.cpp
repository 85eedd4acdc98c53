// Box IoU and GT box transforms (conventions in box.h; evaluation.md B5, sat_csfn.md A5).
#include "eval/box.h"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "engine/error.h"

namespace wsol::eval {

std::ostream& operator<<(std::ostream& out, const Box& box) {
    return out << "[" << box.x0 << "," << box.y0 << "," << box.x1 << "," << box.y1 << "]";
}

std::string box_str(const Box& box) {
    std::ostringstream out;
    out << box;
    return out.str();
}

double box_iou(const Box& a, const Box& b) {
    // 64-bit products: boxes of large images (or fuzzed metadata) must not overflow.
    const int64_t iw = std::max<int64_t>(0, int64_t(std::min(a.x1, b.x1)) - std::max(a.x0, b.x0) + 1);
    const int64_t ih = std::max<int64_t>(0, int64_t(std::min(a.y1, b.y1)) - std::max(a.y0, b.y0) + 1);
    const int64_t inter = iw * ih;
    const int64_t area_a = (int64_t(a.x1) - a.x0 + 1) * (int64_t(a.y1) - a.y0 + 1);
    const int64_t area_b = (int64_t(b.x1) - b.x0 + 1) * (int64_t(b.y1) - b.y0 + 1);
    const int64_t denominator = area_a + area_b - inter;
    if (denominator <= 0) return 0.0;
    // Both operands are integers that double holds exactly, so this is numpy's true_divide result.
    return double(inter) / double(denominator);
}

double best_iou(const Box& box, std::span<const Box> gt) {
    double best = -1.0;
    for (const Box& g : gt) best = std::max(best, box_iou(box, g));
    return best;
}

Box rescale_box(const Box& box, int width, int height, int new_width, int new_height) {
    WSOL_CHECK(width > 0 && height > 0, "rescale_box: image size ", width, "x", height, " is not positive");
    // Same operation order as wsolevaluation: (x * new_w) / w in float64, then int() truncation.
    auto scale = [](int v, int from, int to) { return int(double(v) * double(to) / double(from)); };
    return {scale(box.x0, width, new_width), scale(box.y0, height, new_height), scale(box.x1, width, new_width),
            scale(box.y1, height, new_height)};
}

Box legacy_crop_box(const Box& box, int width, int height, int resize, int crop) {
    WSOL_CHECK(width > 0 && height > 0, "legacy_crop_box: image size ", width, "x", height, " is not positive");
    const double shift = double((resize - crop) / 2);
    // SAT's loader order: x / w * R - shift in float64 (its CUB path; the ILSVRC path does the same
    // arithmetic in float32, which can differ in the last bit before truncation).
    auto lo = [&](int v, int size) { return int(std::max(double(v) / size * resize - shift, 0.0)); };
    auto hi = [&](int v, int size) { return int(std::min(double(v) / size * resize - shift, double(crop - 1))); };
    return {lo(box.x0, width), lo(box.y0, height), hi(box.x1, width), hi(box.y1, height)};
}

void check_box(const Box& box, const std::string& what) {
    WSOL_CHECK(box.x0 >= 0 && box.y0 >= 0 && box.x1 >= 0 && box.y1 >= 0, what, ": box ", box,
               " has a negative coordinate");
    WSOL_CHECK(box.x1 >= box.x0 && box.y1 >= box.y0, what, ": box ", box, " has x1 < x0 or y1 < y0");
}

}  // namespace wsol::eval
