// Incremental box extraction over all threshold levels (the reasoning is in box_sweep.h).
//
// Layout: every per-pixel array lives on the image padded by a one-pixel ring, index
// p = (y + 1) * (W + 2) + (x + 1). The ring is never added, so neighbour loops need no bounds
// checks, and raster order of image pixels is the order of their padded indices.
//
// Union-find: union by size with path halving; a root stores -(its size) as its parent, so
// finding a root reads only parent_. Component statistics (box, area, first pixel) live in
// nodes_ at the root and are merged by link().
#include "eval/box_sweep.h"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "engine/error.h"

namespace wsol::eval {

namespace {

constexpr int kLevels = 256;

// For 8-connectivity, the added neighbours of a new pixel fall into few groups that are already
// connected among themselves (two neighbours touching each other, such as up and up-left, or up
// and left, were joined when the later of them was added). Joining one representative per group
// is enough. Bit i of the mask = neighbour i in the order UL, U, UR, L, R, DL, D, DR.
struct NeighbourGroups {
    uint8_t count = 0;
    uint8_t index[4] = {};
};

const std::array<NeighbourGroups, 256>& neighbour_groups() {
    static const std::array<NeighbourGroups, 256> table = [] {
        const int dx[8] = {-1, 0, 1, -1, 1, -1, 0, 1}, dy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
        std::array<NeighbourGroups, 256> out{};
        for (int mask = 0; mask < 256; ++mask) {
            int group[8];
            for (int i = 0; i < 8; ++i) group[i] = i;
            auto root = [&](int i) {
                while (group[i] != i) i = group[i];
                return i;
            };
            for (int i = 0; i < 8; ++i) {
                for (int j = i + 1; j < 8; ++j) {
                    const bool both = (mask >> i & 1) && (mask >> j & 1);
                    if (both && std::abs(dx[i] - dx[j]) <= 1 && std::abs(dy[i] - dy[j]) <= 1) group[root(j)] = root(i);
                }
            }
            NeighbourGroups& g = out[size_t(mask)];
            for (int i = 0; i < 8; ++i) {
                if ((mask >> i & 1) && root(i) == i) g.index[g.count++] = uint8_t(i);
            }
        }
        return out;
    }();
    return table;
}

}  // namespace

void BoxSweeper::reset(const QuantizedMap& map) {
    width_ = map.width;
    height_ = map.height;
    max_level_ = map.max_level;
    pw_ = width_ + 2;
    const int32_t offsets[8] = {-pw_ - 1, -pw_, -pw_ + 1, -1, 1, pw_ - 1, pw_, pw_ + 1};
    std::copy_n(offsets, 8, offsets8_);
    const size_t padded = size_t(height_ + 2) * size_t(pw_);
    parent_.resize(padded);
    nodes_.resize(padded);
    dirty_.resize(padded);
    iou_.resize(padded);
    added_.assign(padded, 0);
    q_.assign(padded, 0);
    order_.reserve(size_t(width_) * size_t(height_));
    for (int y = 0; y < height_; ++y) {
        std::copy_n(map.levels.data() + size_t(y) * size_t(width_), width_, q_.data() + size_t(y + 1) * size_t(pw_) + 1);
    }
    fg_iou_.assign(kLevels, -1.0);
    hole_iou_.assign(kLevels, -1.0);
    largest_iou_.assign(kLevels, -1.0);
    largest_box_.assign(kLevels, Box{});
}

// ---- union-find --------------------------------------------------------------------------------

int32_t BoxSweeper::find(int32_t p) {
    while (parent_[size_t(p)] >= 0) {
        const int32_t up = parent_[size_t(p)];
        const int32_t grand = parent_[size_t(up)];
        if (grand < 0) return up;
        parent_[size_t(p)] = grand;  // path halving: skip a level on the way up
        p = grand;
    }
    return p;
}

int32_t BoxSweeper::link(int32_t a, int32_t b) {
    if (parent_[size_t(a)] > parent_[size_t(b)]) std::swap(a, b);  // a: the larger (more negative)
    parent_[size_t(a)] += parent_[size_t(b)];
    parent_[size_t(b)] = a;
    Node& root = nodes_[size_t(a)];
    const Node& child = nodes_[size_t(b)];
    root.x0 = std::min(root.x0, child.x0);
    root.y0 = std::min(root.y0, child.y0);
    root.x1 = std::max(root.x1, child.x1);
    root.y1 = std::max(root.y1, child.y1);
    root.area2 += child.area2;
    root.first = std::min(root.first, child.first);
    dirty_[size_t(a)] = 1;
    return a;
}

void BoxSweeper::new_component(const Pixel& px) {
    parent_[size_t(px.p)] = -1;
    nodes_[size_t(px.p)] = Node{px.x, px.y, px.x, px.y, 0, px.p};
    dirty_[size_t(px.p)] = 1;
    live_.push_back(px.p);
}

// Puts pixel px into the component `root` (a root), growing its box.
inline void BoxSweeper::attach(const Pixel& px, int32_t root) {
    parent_[size_t(px.p)] = root;
    --parent_[size_t(root)];  // one more pixel
    Node& n = nodes_[size_t(root)];
    if (px.x < n.x0) n.x0 = px.x;
    if (px.x > n.x1) n.x1 = px.x;
    if (px.y < n.y0) n.y0 = px.y;
    if (px.y > n.y1) n.y1 = px.y;
    if (px.p < n.first) n.first = px.p;
    dirty_[size_t(root)] = 1;  // set whether or not the box grew: cheaper than checking
}

int32_t BoxSweeper::add_join8(const Pixel& px) {
    const int32_t p = px.p;
    // Which of the 8 neighbours are added, as a bit mask (bit order UL, U, UR, L, R, DL, D, DR).
    const uint8_t* up = added_.data() + (p - pw_ - 1);
    const uint8_t* mid = added_.data() + (p - 1);
    const uint8_t* down = added_.data() + (p + pw_ - 1);
    const unsigned mask = unsigned(up[0]) | unsigned(up[1]) << 1 | unsigned(up[2]) << 2 | unsigned(mid[0]) << 3 |
                          unsigned(mid[2]) << 4 | unsigned(down[0]) << 5 | unsigned(down[1]) << 6 | unsigned(down[2]) << 7;
    added_[size_t(p)] = 1;
    const NeighbourGroups& groups = neighbour_groups()[mask];
    if (groups.count == 0) {
        new_component(px);
        return p;
    }
    // Most pixels touch one existing component: join it without making a component of their own.
    int32_t root = find(p + offsets8_[groups.index[0]]);
    attach(px, root);
    for (int k = 1; k < groups.count; ++k) {
        const int32_t other = find(p + offsets8_[groups.index[k]]);
        if (other != root) root = link(root, other);
    }
    return root;
}

int32_t BoxSweeper::add_join4(const Pixel& px) {
    const int32_t p = px.p;
    added_[size_t(p)] = 1;
    int32_t root = -1;
    for (int32_t d : {-pw_, -1, 1, pw_}) {  // 4-neighbours never touch each other: join each
        if (!added_[size_t(p + d)]) continue;
        const int32_t other = find(p + d);
        if (root < 0) {
            root = other;
            attach(px, root);
        } else if (other != root) {
            root = link(root, other);
        }
    }
    if (root < 0) {
        new_component(px);
        root = p;
    }
    return root;
}

template <class Alive, class BoxOf>
double BoxSweeper::best_live_iou(std::span<const Box> gt, Alive&& alive, BoxOf&& box_of) {
    double best = -1.0;
    size_t kept = 0;
    for (int32_t r : live_) {
        if (parent_[size_t(r)] >= 0 || !alive(r)) continue;  // merged into another component, or gone
        live_[kept++] = r;
        if (dirty_[size_t(r)]) {
            iou_[size_t(r)] = best_iou(box_of(nodes_[size_t(r)]), gt);
            dirty_[size_t(r)] = 0;
        }
        best = std::max(best, iou_[size_t(r)]);
    }
    live_.resize(kept);
    return best;
}

// ---- pixel orders and the flooded map ------------------------------------------------------------

// Counting sort of the image pixels (or only the fillable ones, e > q) by key.
void BoxSweeper::order_pixels(const std::vector<uint8_t>& key, bool descending, bool fillable_only) {
    int32_t count[kLevels + 1] = {};
    for (int y = 0; y < height_; ++y) {
        const size_t base = size_t(y + 1) * size_t(pw_) + 1;
        for (int x = 0; x < width_; ++x) {
            if (!fillable_only || e_[base + size_t(x)] > q_[base + size_t(x)]) ++count[key[base + size_t(x)] + 1];
        }
    }
    int32_t start[kLevels];
    int32_t total = 0;
    for (int i = 0; i < kLevels; ++i) {
        const int v = descending ? kLevels - 1 - i : i;
        start[v] = total;
        total += count[v + 1];
    }
    order_.resize(size_t(total));
    for (int y = 0; y < height_; ++y) {
        const int32_t base = int32_t((y + 1) * pw_ + 1);
        for (int x = 0; x < width_; ++x) {
            const size_t p = size_t(base + x);
            if (!fillable_only || e_[p] > q_[p]) order_[size_t(start[key[p]]++)] = Pixel{base + x, int16_t(x), int16_t(y)};
        }
    }
}

// The flooded map: e(p) = min over 4-paths from p to the border of the max level on the path,
// by a priority flood with one bucket per level. {e > t} is the foreground at level t with every
// hole filled; e(p) > q(p) exactly for the pixels that lie in a hole at some level.
size_t BoxSweeper::flood() {
    e_ = q_;
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
        buckets_[e_[size_t(p)]].push_back(p);  // a border pixel floods at its own level
    };
    for (int32_t x = 1; x <= width_; ++x) {
        seed(pw_ + x);
        seed(height_ * pw_ + x);
    }
    for (int32_t y = 1; y <= height_; ++y) {
        seed(y * pw_ + 1);
        seed(y * pw_ + width_);
    }
    size_t fillable = 0;
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
                if (e_[size_t(n)] < level) {
                    e_[size_t(n)] = uint8_t(level);
                    ++fillable;
                }
                buckets_[e_[size_t(n)]].push_back(n);
            }
        }
    }
    return fillable;
}

// ---- the passes --------------------------------------------------------------------------------

// MaxBoxAcc: the largest top-level contour, via 8-components of {e > t} with their polygon area.
// Without fillable pixels these are all the foreground components, and the same pass gives the
// all-contours IoU too.
void BoxSweeper::largest_pass(std::span<const Box> gt, bool also_all_contours) {
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    order_pixels(e_, /*descending=*/true, /*fillable_only=*/false);
    const int32_t pw = pw_;
    const int32_t windows[4] = {-pw - 1, -pw, -1, 0};  // top-left cells of the 2x2 windows holding p
    size_t cursor = 0;
    bool changed = true;
    Box box;
    double iou = -1.0, all = -1.0;
    for (int t = kLevels - 1; t >= 0; --t) {
        while (cursor < order_.size() && e_[size_t(order_[cursor].p)] > t) {
            const Pixel& px = order_[cursor++];
            const int32_t root = add_join8(px);
            // Twice the area gained: a window reaching 3 pixels gains a half, reaching 4 another
            // half. Windows overlapping the ring never reach 3 (the ring is never added).
            int32_t gained = 0;
            for (int32_t w : windows) {
                const int32_t tl = px.p + w;
                const int count = added_[size_t(tl)] + added_[size_t(tl + 1)] + added_[size_t(tl + pw)] +
                                  added_[size_t(tl + pw + 1)];
                gained += count >= 3;
            }
            nodes_[size_t(root)].area2 += gained;
            changed = true;
        }
        if (!needed_[size_t(t)] || t >= max_level_) continue;
        if (changed) {
            int32_t winner = -1;
            size_t kept = 0;
            for (int32_t r : live_) {
                if (parent_[size_t(r)] >= 0) continue;
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
            if (also_all_contours) {
                all = best_live_iou(gt, [](int32_t) { return true; }, [&](const Node& c) {
                    return Box{c.x0, c.y0, std::min(c.x1 + 1, width_ - 1), std::min(c.y1 + 1, height_ - 1)};
                });
            }
            changed = false;
        }
        largest_box_[size_t(t)] = box;
        largest_iou_[size_t(t)] = iou;
        if (also_all_contours) fg_iou_[size_t(t)] = all;
    }
}

// MaxBoxAccV2, outer contours: 8-connected components of {q > t}, by falling t.
void BoxSweeper::foreground_pass(std::span<const Box> gt) {
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    order_pixels(q_, /*descending=*/true, /*fillable_only=*/false);
    size_t cursor = 0;
    bool changed = true;
    double best = -1.0;
    for (int t = kLevels - 1; t >= 0; --t) {
        while (cursor < order_.size() && q_[size_t(order_[cursor].p)] > t) {
            add_join8(order_[cursor++]);
            changed = true;
        }
        if (!needed_[size_t(t)] || t >= max_level_) continue;
        if (changed) {
            // cv::boundingRect gives w = x1 - x0 + 1; the box ends at x + w (clipped).
            best = best_live_iou(gt, [](int32_t) { return true; }, [&](const Node& n) {
                return Box{n.x0, n.y0, std::min(n.x1 + 1, width_ - 1), std::min(n.y1 + 1, height_ - 1)};
            });
            changed = false;
        }
        fg_iou_[size_t(t)] = best;
    }
}

// MaxBoxAccV2, hole contours: 4-components of the fillable pixels with q <= t, by rising t; a
// component is a hole while t < its (common) flood level e.
void BoxSweeper::hole_pass(std::span<const Box> gt) {
    std::fill(added_.begin(), added_.end(), 0);
    live_.clear();
    order_pixels(q_, /*descending=*/false, /*fillable_only=*/true);
    size_t cursor = 0;
    for (int t = 0; t < kLevels; ++t) {
        while (cursor < order_.size() && q_[size_t(order_[cursor].p)] <= t) add_join4(order_[cursor++]);
        if (!needed_[size_t(t)] || t >= max_level_) continue;
        // Evaluated at every level: holes also end (join the outside) when t reaches their flood level.
        hole_iou_[size_t(t)] = best_live_iou(gt, [&](int32_t r) { return e_[size_t(r)] > t; }, [&](const Node& n) {
            // The hole contour runs through the foreground pixels around the hole: its rect is the
            // hole's box grown by one, and the box again ends one past it (clipped).
            return Box{n.x0 - 1, n.y0 - 1, std::min(n.x1 + 2, width_ - 1), std::min(n.y1 + 2, height_ - 1)};
        });
    }
}

std::vector<LevelResult> BoxSweeper::sweep(const QuantizedMap& map, std::span<const Box> gt,
                                           std::span<const int> levels) {
    WSOL_CHECK(map.height > 0 && map.width > 0 && map.levels.size() == size_t(map.height) * size_t(map.width),
               "BoxSweeper::sweep: malformed quantised map ", map.height, "x", map.width);
    WSOL_CHECK(map.height <= 32767 && map.width <= 32767, "BoxSweeper::sweep: map ", map.height, "x", map.width,
               " is too large (at most 32767 on a side)");
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
        const bool fillable = flood() > 0;
        largest_pass(gt, /*also_all_contours=*/!fillable);
        if (fillable) {
            foreground_pass(gt);
            hole_pass(gt);
        }
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
