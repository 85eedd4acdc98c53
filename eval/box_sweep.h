// All thresholds of one score map at once: the boxes wsolevaluation would extract at every CAM
// threshold, without running a contour extraction per threshold.
//
// Why it works. The foreground at integer level t is F_t = {q > t} for the quantised map q, so a
// 1000-threshold sweep has at most 256 distinct masks, and they are nested: F_t grows as t falls.
// What the two metrics need from OpenCV's contours can be phrased with connected components of
// nested sets, which union-find maintains incrementally while pixels are added in level order:
//
// * MaxBoxAccV2 (all contours). RETR_TREE returns one outer contour per 8-connected foreground
//   component and one hole contour per background 4-component that does not reach the image
//   border (OpenCV pads the image with background). An outer contour's bounding rect is its
//   component's; a hole contour is traced on the foreground pixels around the hole, so its rect
//   is the hole's bounding box grown by one pixel. Foreground components: add pixels by falling
//   level (8-connectivity). Holes: a background pixel p is in a hole at level t exactly when
//   q(p) <= t < e(p), with e the flooded map below, and all pixels of one hole share e; so holes
//   are 4-components of the "fillable" pixels {e > q} added by rising q, each alive while t < e.
//   Maps without fillable pixels have neither holes nor nested components: their foreground
//   components are those of the filled map, and the foreground pass is skipped.
//
// * MaxBoxAcc (largest contour by cv::contourArea, first in OpenCV's order on ties). The
//   winner is always a top-level outer contour: a hole or a nested contour lies inside its
//   parent's polygon, so its area is at most the parent's, and OpenCV lists a parent before its
//   children. A top-level component together with everything it encloses is an 8-component of
//   U_t = {e > t}, where e is the "flooded" map (e(p) = the lowest level at which p joins the
//   background 4-connected to the border: a minimax path, computed by a priority flood). U_t is
//   again nested in t. The shoelace area of the outer contour through pixel centres is
//   (#2x2 windows fully inside U) + (#windows with exactly 3 pixels in U) / 2: each unit square
//   between four pixel centres is covered fully, by a half (the contour cuts the missing corner)
//   or not at all (an edge or a diagonal of the contour). Top-level siblings come in reverse
//   discovery order, so ties go to the component whose first raster pixel is last.
//
// Each pass is one union-find sweep over the pixels (O(N alpha(N))) plus, per distinct level, a
// scan of the live components. Tests compare every level against eval/contours.h (OpenCV).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eval/box.h"
#include "eval/scoremap.h"

namespace wsol::eval {

// What one threshold level yields for one image.
struct LevelResult {
    Box largest;             // the box of the largest contour ([0,0,0,0] when the foreground is empty)
    double largest_iou = 0;  // best IoU of that box over the GT boxes
    double all_iou = 0;      // best IoU over every contour's box and every GT box
};

// Reusable workspace (one per thread): the buffers grow to the largest map seen.
class BoxSweeper {
public:
    // One result per entry of `levels` (each in [0, 255]; any order, repeats allowed). `gt` must
    // be non-empty and in the map's pixel grid.
    std::vector<LevelResult> sweep(const QuantizedMap& map, std::span<const Box> gt, std::span<const int> levels);

private:
    // Per-component statistics, valid at roots. Small on purpose: the sweep is bound by memory
    // access, not arithmetic. The component size lives in parent_ (see find).
    struct Node {
        int16_t x0, y0, x1, y1;  // bounding box of the component (image coordinates)
        int32_t area2;           // twice the outer contour's polygon area (largest pass)
        int32_t first;           // smallest padded index = first pixel in raster order (largest pass)
    };
    struct Pixel {
        int32_t p;     // padded index
        int16_t x, y;  // image coordinates (kept to avoid a division per pixel)
    };

    void reset(const QuantizedMap& map);
    int32_t find(int32_t p);
    int32_t link(int32_t a, int32_t b);  // merges two roots, returns the new root
    void new_component(const Pixel& px);
    void attach(const Pixel& px, int32_t root);
    // Add a pixel and join it with its already added 8- or 4-neighbours; return its root.
    int32_t add_join8(const Pixel& px);
    int32_t add_join4(const Pixel& px);
    // Max over the live roots accepted by `alive` of the IoU of box_of(node) (cached per root);
    // drops dead and merged roots from live_.
    template <class Alive, class BoxOf>
    double best_live_iou(std::span<const Box> gt, Alive&& alive, BoxOf&& box_of);
    size_t flood();  // e_ from q_; returns the number of pixels with e > q
    void order_pixels(const std::vector<uint8_t>& key, bool descending, bool fillable_only);
    void largest_pass(std::span<const Box> gt, bool also_all_contours);
    void foreground_pass(std::span<const Box> gt);
    void hole_pass(std::span<const Box> gt);

    int width_ = 0, height_ = 0, pw_ = 0, max_level_ = 0;  // image size, padded row length (width + 2)
    int32_t offsets8_[8] = {};             // padded index offsets of the 8 neighbours (UL, U, UR, L, R, DL, D, DR)
    std::vector<uint8_t> needed_;          // needed_[t]: level t was requested
    std::vector<uint8_t> q_, e_;           // quantised levels and the flooded map, on the padded grid
    std::vector<int32_t> parent_;          // parent pixel, or -(component size) at a root
    std::vector<Node> nodes_;
    std::vector<uint8_t> dirty_;           // a root's box changed since its IoU was cached
    std::vector<double> iou_;              // cached best IoU of a root's box
    std::vector<uint8_t> added_;
    std::vector<Pixel> order_;             // the pixels of a pass in level order
    std::vector<int32_t> live_;            // candidate roots, compacted lazily
    std::vector<std::vector<int32_t>> buckets_;
    // Per level t in [0, 255]: the answers.
    std::vector<double> fg_iou_, hole_iou_, largest_iou_;
    std::vector<Box> largest_box_;
};

}  // namespace wsol::eval
