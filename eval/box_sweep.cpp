// Incremental box extraction over all threshold levels (the reasoning is in box_sweep.h).
//
// Layout: every per-pixel array lives on the image padded by a one-pixel ring, index
// p = (y + 1) * (W + 2) + (x + 1). The ring is never foreground, so neighbour loops need no
// bounds checks, and raster order of image pixels is the order of their padded indices.
#include "eval/box_sweep.h"

#include <algorithm>

#include "engine/error.h"

namespace wsol::eval {

namespace {

constexpr int kLevels = 256;

}  // namespace

void BoxSweeper::reset(const QuantizedMap& map) {
    width_ = map.width;
    height_ = map.height;
    pw_ = width_ + 2;
    const size_t padded = size_t(height_ + 2) * size_t(pw_);
    parent_.resize(padded);
    nodes_.resize(padded);
    added_.assign(padded, 0);
    padded_levels_.assign(padded, 0);
    order_.resize(size_t(width_) * size_t(height_));
    for (int y = 0; y < height_; ++y) {
        std::copy_n(map.levels.data() + size_t(y) * size_t(width_), width_,
                    padded_levels_.data() + size_t(y + 1) * size_t(pw_) + 1);
    }
    fg_iou_.assign(kLevels, -1.0);
    hole_iou_.assign(kLevels, -1.0);
    largest_iou_.assign(kLevels, -1.0);
    largest_box_.assign(kLevels, Box{});
}

int32_t BoxSweeper::find(int32_t p) {
    while (parent_[size_t(p)] != p) {
        parent_[size_t(p)] = parent_[size_t(parent_[size_t(p)])];  // path halving
        p = parent_[size_t(p)];
    }
    return p;
}

int32_t BoxSweeper::unite(int32_t a, int32_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    if (nodes_[size_t(a)].size < nodes_[size_t(b)].size) std::swap(a, b);
    Node& root = nodes_[size_t(a)];
    const Node& child = nodes_[size_t(b)];
    parent_[size_t(b)] = a;
    root.size += child.size;
    root.x0 = std::min(root.x0, child.x0);
    root.y0 = std::min(root.y0, child.y0);
    root.x1 = std::max(root.x1, child.x1);
    root.y1 = std::max(root.y1, child.y1);
    root.area2 += child.area2;
    root.first = std::min(root.first, child.first);
    root.outside |= child.outside;
    root.dirty = 1;
    return a;
}

int32_t BoxSweeper::add_pixel(int32_t p) {
    const int y = p / pw_ - 1, x = p % pw_ - 1;
    parent_[size_t(p)] = p;
    nodes_[size_t(p)] = Node{x, y, x, y, 1, 0, p, 1, 0, 0.0};
    added_[size_t(p)] = 1;
    live_.push_back(p);
    return p;
}

// Counting sort of the image pixels by padded_levels_ value.
void BoxSweeper::order_by_level(const uint8_t* level_of, bool descending) {
    int32_t count[kLevels + 1] = {};
    for (int y = 0; y < height_; ++y) {
        const uint8_t* row = level_of + size_t(y + 1) * size_t(pw_) + 1;
        for (int x = 0; x < width_; ++x) ++count[row[x] + 1];
    }
    if (descending) {
        // Bucket start for level v = number of pixels with a level above v.
        int32_t start[kLevels];
        int32_t above = 0;
        for (int v = kLevels - 1; v >= 0; --v) {
            start[v] = above;
            above += count[v + 1];
        }
        std::copy_n(start, kLevels, count);
    } else {
        for (int v = 0; v < kLevels; ++v) count[v + 1] += count[v];
    }
    for (int y = 0; y < height_; ++y) {
        const int32_t base = int32_t((y + 1) * pw_ + 1);
        const uint8_t* row = level_of + size_t(base);
        for (int x = 0; x < width_; ++x) order_[size_t(count[row[x]]++)] = base + x;
    }
}

// MaxBoxAccV2, outer contours: 8-connected components of {q > t}, by falling t.
void BoxSweeper::foreground_pass(const QuantizedMap& map, std::span<const Box> gt) {
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    order_by_level(padded_levels_.data(), /*descending=*/true);
    const int32_t pw = pw_;
    const int32_t neighbours[8] = {-pw - 1, -pw, -pw + 1, -1, 1, pw - 1, pw, pw + 1};
    size_t cursor = 0;
    bool changed = true;
    double best = -1.0;
    for (int t = kLevels - 1; t >= 0; --t) {
        while (cursor < order_.size() && padded_levels_[size_t(order_[cursor])] > t) {
            const int32_t p = add_pixel(order_[cursor++]);
            for (int32_t d : neighbours) {
                if (added_[size_t(p + d)]) unite(p, p + d);
            }
            changed = true;
        }
        if (!needed_[size_t(t)] || t >= map.max_level) continue;
        if (changed) {
            best = -1.0;
            size_t kept = 0;
            for (int32_t r : live_) {
                if (parent_[size_t(r)] != r) continue;  // merged into another component
                live_[kept++] = r;
                Node& n = nodes_[size_t(r)];
                if (n.dirty) {
                    // cv::boundingRect gives w = x1 - x0 + 1; the box ends at x + w (clipped).
                    n.iou = best_iou(Box{n.x0, n.y0, std::min(n.x1 + 1, width_ - 1), std::min(n.y1 + 1, height_ - 1)}, gt);
                    n.dirty = 0;
                }
                best = std::max(best, n.iou);
            }
            live_.resize(kept);
            changed = false;
        }
        fg_iou_[size_t(t)] = best;
    }
}

// MaxBoxAccV2, hole contours: 4-connected components of {q <= t} that do not reach the border,
// by rising t. The padding ring is one background component marked `outside`.
void BoxSweeper::hole_pass(const QuantizedMap& map, std::span<const Box> gt) {
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    const int32_t outside = 0;  // the ring's top-left cell stands for the whole outside
    nodes_[0] = Node{0, 0, 0, 0, 1, 0, 0, 0, 1, 0.0};
    const int32_t ph = height_ + 2;
    for (int32_t i = 0; i < ph * pw_; ++i) {
        const int32_t y = i / pw_, x = i % pw_;
        if (y == 0 || y == ph - 1 || x == 0 || x == pw_ - 1) {
            parent_[size_t(i)] = outside;
            added_[size_t(i)] = 1;
        }
    }
    nodes_[0].size = 2 * (ph + pw_);
    order_by_level(padded_levels_.data(), /*descending=*/false);
    const int32_t neighbours[4] = {-pw_, -1, 1, pw_};
    size_t cursor = 0;
    bool changed = true;
    double best = -1.0;
    for (int t = 0; t < kLevels; ++t) {
        while (cursor < order_.size() && padded_levels_[size_t(order_[cursor])] <= t) {
            const int32_t p = add_pixel(order_[cursor++]);
            for (int32_t d : neighbours) {
                if (added_[size_t(p + d)]) unite(p, p + d);
            }
            changed = true;
        }
        if (!needed_[size_t(t)] || t >= map.max_level) continue;
        if (changed) {
            best = -1.0;
            size_t kept = 0;
            for (int32_t r : live_) {
                if (parent_[size_t(r)] != r || nodes_[size_t(r)].outside) continue;  // merged, or no longer a hole
                live_[kept++] = r;
                Node& n = nodes_[size_t(r)];
                if (n.dirty) {
                    // The hole contour runs through the foreground pixels around the hole: its rect is the
                    // hole's box grown by one, and the box again ends one past it (clipped).
                    n.iou = best_iou(Box{n.x0 - 1, n.y0 - 1, std::min(n.x1 + 2, width_ - 1), std::min(n.y1 + 2, height_ - 1)},
                                     gt);
                    n.dirty = 0;
                }
                best = std::max(best, n.iou);
            }
            live_.resize(kept);
            changed = false;
        }
        hole_iou_[size_t(t)] = best;
    }
}

// The flooded map e on the padded grid: e(p) = min over 4-paths from p to the border of the
// max level on the path. {e > t} is the foreground at level t with every hole filled.
void BoxSweeper::flood(const QuantizedMap& map) {
    std::vector<uint8_t>& queued = added_;
    std::fill(queued.begin(), queued.end(), 0);
    const int32_t ph = height_ + 2;
    for (int32_t x = 0; x < pw_; ++x) queued[size_t(x)] = queued[size_t((ph - 1) * pw_ + x)] = 1;
    for (int32_t y = 0; y < ph; ++y) queued[size_t(y * pw_)] = queued[size_t(y * pw_ + pw_ - 1)] = 1;
    buckets_.resize(kLevels);
    for (auto& b : buckets_) b.clear();
    auto seed = [&](int32_t p) {
        if (queued[size_t(p)]) return;
        queued[size_t(p)] = 1;
        buckets_[padded_levels_[size_t(p)]].push_back(p);  // a border pixel floods at its own level
    };
    for (int32_t x = 1; x <= width_; ++x) {
        seed(pw_ + x);
        seed(height_ * pw_ + x);
    }
    for (int32_t y = 1; y <= height_; ++y) {
        seed(y * pw_ + 1);
        seed(y * pw_ + width_);
    }
    const int32_t neighbours[4] = {-pw_, -1, 1, pw_};
    for (int level = 0; level < kLevels; ++level) {
        std::vector<int32_t>& bucket = buckets_[size_t(level)];
        for (size_t i = 0; i < bucket.size(); ++i) {  // the bucket can grow while we walk it
            const int32_t p = bucket[i];
            for (int32_t d : neighbours) {
                const int32_t n = p + d;
                if (queued[size_t(n)]) continue;
                queued[size_t(n)] = 1;
                // Reached from level `level`: its flood level is the higher of the two.
                const uint8_t e = std::max<uint8_t>(padded_levels_[size_t(n)], uint8_t(level));
                padded_levels_[size_t(n)] = e;
                buckets_[e].push_back(n);
            }
        }
    }
    (void)map;
}

// MaxBoxAcc: the largest top-level contour, via 8-components of {e > t} with their polygon area.
void BoxSweeper::largest_pass(const QuantizedMap& map, std::span<const Box> gt) {
    flood(map);
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    order_by_level(padded_levels_.data(), /*descending=*/true);
    const int32_t pw = pw_;
    const int32_t neighbours[8] = {-pw - 1, -pw, -pw + 1, -1, 1, pw - 1, pw, pw + 1};
    const int32_t windows[4] = {-pw - 1, -pw, -1, 0};  // top-left cells of the 2x2 windows holding p
    size_t cursor = 0;
    bool changed = true;
    Box box;
    double iou = -1.0;
    for (int t = kLevels - 1; t >= 0; --t) {
        while (cursor < order_.size() && padded_levels_[size_t(order_[cursor])] > t) {
            const int32_t p = add_pixel(order_[cursor++]);
            for (int32_t d : neighbours) {
                if (added_[size_t(p + d)]) unite(p, p + d);
            }
            // Twice the area gained: a window reaching 3 pixels gains a half, reaching 4 another
            // half. Windows overlapping the ring never reach 3 (the ring is never added).
            int32_t gained = 0;
            for (int32_t w : windows) {
                const int32_t tl = p + w;
                const int count = added_[size_t(tl)] + added_[size_t(tl + 1)] + added_[size_t(tl + pw)] +
                                  added_[size_t(tl + pw + 1)];
                gained += count >= 3;
            }
            nodes_[size_t(find(p))].area2 += gained;
            changed = true;
        }
        if (!needed_[size_t(t)] || t >= map.max_level) continue;
        if (changed) {
            int32_t winner = -1;
            size_t kept = 0;
            for (int32_t r : live_) {
                if (parent_[size_t(r)] != r) continue;
                live_[kept++] = r;
                const Node& n = nodes_[size_t(r)];
                // Largest area; on a tie the component discovered last (OpenCV lists siblings in
                // reverse discovery order and Python's max keeps the first).
                if (winner < 0 || n.area2 > nodes_[size_t(winner)].area2 ||
                    (n.area2 == nodes_[size_t(winner)].area2 && n.first > nodes_[size_t(winner)].first)) {
                    winner = r;
                }
            }
            live_.resize(kept);
            const Node& n = nodes_[size_t(winner)];
            box = Box{n.x0, n.y0, std::min(n.x1 + 1, width_ - 1), std::min(n.y1 + 1, height_ - 1)};
            iou = best_iou(box, gt);
            changed = false;
        }
        largest_box_[size_t(t)] = box;
        largest_iou_[size_t(t)] = iou;
    }
}

std::vector<LevelResult> BoxSweeper::sweep(const QuantizedMap& map, std::span<const Box> gt,
                                           std::span<const int> levels) {
    WSOL_CHECK(map.height > 0 && map.width > 0 && map.levels.size() == size_t(map.height) * size_t(map.width),
               "BoxSweeper::sweep: malformed quantised map ", map.height, "x", map.width);
    WSOL_CHECK(!gt.empty(), "BoxSweeper::sweep: no ground-truth boxes");
    needed_.assign(kLevels, 0);
    bool any_foreground = false;
    for (int t : levels) {
        WSOL_CHECK(t >= 0 && t < kLevels, "BoxSweeper::sweep: level ", t, " outside [0, 255]");
        needed_[size_t(t)] = 1;
        any_foreground |= t < map.max_level;
    }
    reset(map);
    if (any_foreground) {
        foreground_pass(map, gt);
        hole_pass(map, gt);
        largest_pass(map, gt);
    }
    // An empty foreground has no contour: wsolevaluation then scores the single box [0,0,0,0].
    const Box empty{0, 0, 0, 0};
    const double empty_iou = best_iou(empty, gt);
    std::vector<LevelResult> out(levels.size());
    for (size_t i = 0; i < levels.size(); ++i) {
        const size_t t = size_t(levels[i]);
        if (levels[i] >= map.max_level) {
            out[i] = LevelResult{empty, empty_iou, empty_iou};
        } else {
            out[i] = LevelResult{largest_box_[t], largest_iou_[t], std::max(fg_iou_[t], hole_iou_[t])};
        }
    }
    return out;
}

}  // namespace wsol::eval
