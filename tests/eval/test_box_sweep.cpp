// The all-levels sweep (eval/box_sweep.h) against the OpenCV reference (eval/contours.h), level by
// level, on maps built to stress the contour rules: holes, nested components, one-pixel lines,
// diagonal contacts, ties in polygon area, components touching the border, empty maps.
#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <random>

#include "eval/box_sweep.h"
#include "eval/contours.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

QuantizedMap make_map(int h, int w, const std::vector<uint8_t>& levels) {
    QuantizedMap q;
    q.height = h;
    q.width = w;
    q.levels = levels;
    q.max_level = levels.empty() ? 0 : *std::max_element(levels.begin(), levels.end());
    return q;
}

std::vector<Box> random_gt(std::mt19937& rng, int h, int w, int count) {
    std::vector<Box> gt;
    for (int i = 0; i < count; ++i) {
        std::uniform_int_distribution<int> xs(0, w - 1), ys(0, h - 1);
        int x0 = xs(rng), x1 = xs(rng), y0 = ys(rng), y1 = ys(rng);
        gt.push_back(Box{std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)});
    }
    return gt;
}

// Compares every level 0..255 of `map`; returns the number of mismatching levels (and reports them).
int compare_all_levels(const QuantizedMap& map, const std::vector<Box>& gt, const std::string& what) {
    std::vector<int> levels(256);
    for (int t = 0; t < 256; ++t) levels[size_t(t)] = t;
    BoxSweeper sweeper;
    const std::vector<LevelResult> fast = sweeper.sweep(map, gt, levels);
    int mismatches = 0;
    for (int t = 0; t < 256; ++t) {
        const std::vector<Box> largest = contour_boxes(map, t, ContourSelection::Largest);
        const std::vector<Box> all = contour_boxes(map, t, ContourSelection::All);
        double all_iou = -1;
        for (const Box& b : all) all_iou = std::max(all_iou, best_iou(b, gt));
        const LevelResult& r = fast[size_t(t)];
        if (r.largest != largest[0] || r.largest_iou != best_iou(largest[0], gt) || r.all_iou != all_iou) {
            if (++mismatches <= 3) {
                ADD_FAILURE() << what << " level " << t << ": sweep largest " << r.largest << " iou " << r.largest_iou
                              << " all_iou " << r.all_iou << "; OpenCV largest " << largest[0] << " all_iou "
                              << all_iou;
            }
        }
    }
    return mismatches;
}

TEST(BoxSweep, HandWorkedRingWithHole) {
    // A 5x5 ring around a 3x3 hole (values 200), nothing else. Worked by hand:
    //  - foreground component = the ring, bbox (1,1)-(5,5) -> box [1,1,6,6];
    //  - the hole (2,2)-(4,4) is traced on the ring pixels around it: rect (1,1,5,5) -> box [1,1,6,6];
    //  - largest contour: the ring's outer contour, area 16 (the filled 5x5 square) -> [1,1,6,6].
    std::vector<uint8_t> v(8 * 8, 0);
    for (int y = 1; y <= 5; ++y)
        for (int x = 1; x <= 5; ++x)
            if (y == 1 || y == 5 || x == 1 || x == 5) v[size_t(y * 8 + x)] = 200;
    const QuantizedMap map = make_map(8, 8, v);
    const std::vector<Box> gt = {Box{1, 1, 6, 6}};
    BoxSweeper sweeper;
    const int levels[] = {0, 199, 200};
    const auto r = sweeper.sweep(map, gt, levels);
    EXPECT_EQ(r[0].largest, (Box{1, 1, 6, 6}));
    EXPECT_EQ(r[0].largest_iou, 1.0);
    EXPECT_EQ(r[1].largest, (Box{1, 1, 6, 6}));
    // Level 200: nothing is > 200, so the box is [0,0,0,0]: pixel (0,0), outside the GT box (IoU 0),
    // but inside a GT box [0,0,5,5] with IoU 1/36.
    EXPECT_EQ(r[2].largest, (Box{0, 0, 0, 0}));
    EXPECT_EQ(r[2].largest_iou, 0.0);
    EXPECT_EQ(r[2].all_iou, 0.0);
    const std::vector<Box> gt_at_origin = {Box{0, 0, 5, 5}};
    EXPECT_EQ(sweeper.sweep(map, gt_at_origin, levels)[2].all_iou, 1.0 / 36.0);
    EXPECT_EQ(compare_all_levels(map, gt, "ring"), 0);
}

TEST(BoxSweep, HandWorkedHoleAndNestedComponent) {
    // 10x10: a thick square ring on rows/cols 1..8 around a 4x4 hole (rows/cols 3..6) holding an
    // island pixel at (4,4). Worked by hand, at level 0:
    //   outer contour of the ring: bbox (1,1)-(8,8) -> box [1,1,9,9];
    //   hole contour: hole bbox (3,3)-(6,6) grown by one -> rect (2,2)-(7,7) -> box [2,2,8,8];
    //   island: (4,4) -> box [4,4,5,5].
    // Largest contour: the ring's (area 49 of the filled 8x8 square) -> [1,1,9,9].
    std::vector<uint8_t> v(100, 0);
    for (int y = 1; y <= 8; ++y)
        for (int x = 1; x <= 8; ++x)
            if (y < 3 || y > 6 || x < 3 || x > 6) v[size_t(y * 10 + x)] = 255;
    v[4 * 10 + 4] = 255;
    const QuantizedMap map = make_map(10, 10, v);
    BoxSweeper sweeper;
    const int levels[] = {0};
    // GT on the island: V2 finds it exactly (IoU 1); V1 only has the ring box: 4 / 81.
    const std::vector<Box> island = {Box{4, 4, 5, 5}};
    LevelResult r = sweeper.sweep(map, island, levels)[0];
    EXPECT_EQ(r.largest, (Box{1, 1, 9, 9}));
    EXPECT_EQ(r.largest_iou, 4.0 / 81.0);
    EXPECT_EQ(r.all_iou, 1.0);
    // GT on the hole's contour box: IoU 1 through the hole contour alone.
    const std::vector<Box> hole = {Box{2, 2, 8, 8}};
    EXPECT_EQ(sweeper.sweep(map, hole, levels)[0].all_iou, 1.0);
    EXPECT_EQ(contour_boxes(map, 0, ContourSelection::All).size(), 3u);
    EXPECT_EQ(compare_all_levels(map, island, "ring with island"), 0);
    EXPECT_EQ(compare_all_levels(map, hole, "ring with island"), 0);
}

TEST(BoxSweep, HandWorkedTieGoesToTheLaterComponent) {
    // Two single pixels (area 0 each) at (1,1) and (4,3): OpenCV lists the later-discovered one
    // first, and max() keeps the first maximum, so the box is the second pixel's: [4,3,5,4].
    std::vector<uint8_t> v(6 * 6, 0);
    v[1 * 6 + 1] = 255;
    v[3 * 6 + 4] = 255;
    const QuantizedMap map = make_map(6, 6, v);
    const std::vector<Box> gt = {Box{0, 0, 2, 2}};
    BoxSweeper sweeper;
    const int levels[] = {100};
    EXPECT_EQ(sweeper.sweep(map, gt, levels)[0].largest, (Box{4, 3, 5, 4}));
    EXPECT_EQ(contour_boxes(map, 100, ContourSelection::Largest)[0], (Box{4, 3, 5, 4}));
    // All contours: the best box is the first pixel's [1,1,2,2], IoU 4/9 with the 3x3 GT.
    EXPECT_EQ(sweeper.sweep(map, gt, levels)[0].all_iou, 4.0 / 9.0);
}

TEST(BoxSweep, HandWorkedPolygonAreaIsNotPixelCount) {
    // A horizontal line of 9 pixels (area 0) against a 2x2 square (4 pixels, area 1): the square
    // wins although it has fewer pixels. Box of the square at (6,4)-(7,5): [6,4,8,6].
    std::vector<uint8_t> v(8 * 10, 0);
    for (int x = 0; x < 9; ++x) v[size_t(1 * 10 + x)] = 255;
    for (int y = 4; y <= 5; ++y)
        for (int x = 6; x <= 7; ++x) v[size_t(y * 10 + x)] = 255;
    const QuantizedMap map = make_map(8, 10, v);
    const std::vector<Box> gt = {Box{0, 0, 9, 7}};
    BoxSweeper sweeper;
    const int levels[] = {0};
    EXPECT_EQ(sweeper.sweep(map, gt, levels)[0].largest, (Box{6, 4, 8, 6}));
    EXPECT_EQ(compare_all_levels(map, gt, "line vs square"), 0);
}

TEST(BoxSweep, DegenerateMaps) {
    BoxSweeper sweeper;
    const std::vector<Box> gt = {Box{0, 0, 0, 0}};
    // All zero: every level gives [0,0,0,0], which matches a GT box at the origin exactly.
    const QuantizedMap zeros = make_map(4, 4, std::vector<uint8_t>(16, 0));
    const int levels[] = {0, 5};
    for (const LevelResult& r : sweeper.sweep(zeros, gt, levels)) {
        EXPECT_EQ(r.largest, (Box{0, 0, 0, 0}));
        EXPECT_EQ(r.all_iou, 1.0);
    }
    // 1x1 and 1xN maps: the box end is clipped to W - 1 = 0.
    const QuantizedMap one = make_map(1, 1, {255});
    EXPECT_EQ(sweeper.sweep(one, gt, levels)[0].largest, (Box{0, 0, 0, 0}));
    EXPECT_EQ(compare_all_levels(one, gt, "1x1"), 0);
    EXPECT_EQ(compare_all_levels(make_map(1, 7, {0, 9, 9, 0, 255, 3, 255}), {Box{1, 0, 2, 0}}, "1x7"), 0);
    EXPECT_EQ(compare_all_levels(make_map(7, 1, {0, 9, 9, 0, 255, 3, 255}), {Box{0, 1, 0, 2}}, "7x1"), 0);
    EXPECT_WSOL_ERROR(sweeper.sweep(one, {}, levels), "no ground-truth boxes");
    const int bad[] = {256};
    EXPECT_WSOL_ERROR(sweeper.sweep(one, gt, bad), "level 256 outside [0, 255]");
}

TEST(BoxSweep, MatchesOpenCVOnRandomSmallMaps) {
    // Few distinct values on small grids: many holes, nested components, diagonal contacts and
    // equal-area ties.
    std::mt19937 rng(1234);
    int total_mismatches = 0;
    for (int trial = 0; trial < 600; ++trial) {
        std::uniform_int_distribution<int> side(1, 24);
        const int h = side(rng), w = side(rng);
        std::vector<uint8_t> v(size_t(h * w));
        const int kind = trial % 3;
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const double density = u(rng);
        for (auto& x : v) {
            if (kind == 0) x = uint8_t(60 * std::uniform_int_distribution<int>(0, 4)(rng));
            else if (kind == 1) x = u(rng) < density ? 200 : 0;
            else x = uint8_t(std::uniform_int_distribution<int>(0, 255)(rng));
        }
        const QuantizedMap map = make_map(h, w, v);
        total_mismatches += compare_all_levels(map, random_gt(rng, h, w, 1 + trial % 3), "trial " + std::to_string(trial));
    }
    EXPECT_EQ(total_mismatches, 0);
}

TEST(BoxSweep, MatchesOpenCVOnSmoothMapsOfEvaluationSize) {
    // CAM-like 224x224 maps: a few Gaussian blobs plus noise, upsampled from 14x14 with bicubic
    // interpolation as wsolevaluation's inference does, then min-max normalised.
    std::mt19937 rng(99);
    int total_mismatches = 0;
    for (int trial = 0; trial < 12; ++trial) {
        cv::Mat small(14, 14, CV_64F);
        std::normal_distribution<double> noise(0.0, 0.3);
        std::uniform_real_distribution<double> pos(0.0, 14.0);
        double cx[3], cy[3];
        for (int k = 0; k < 3; ++k) cx[k] = pos(rng), cy[k] = pos(rng);
        for (int y = 0; y < 14; ++y)
            for (int x = 0; x < 14; ++x) {
                double s = noise(rng);
                for (int k = 0; k < 3; ++k) s += std::exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) / 8.0);
                small.at<double>(y, x) = s;
            }
        cv::Mat big;
        cv::resize(small, big, cv::Size(224, 224), 0, 0, cv::INTER_CUBIC);
        double lo, hi;
        cv::minMaxLoc(big, &lo, &hi);
        std::vector<uint8_t> v(224 * 224);
        for (int i = 0; i < 224 * 224; ++i) v[size_t(i)] = uint8_t((big.at<double>(i) - lo) / (hi - lo) * 255.0);
        total_mismatches += compare_all_levels(make_map(224, 224, v), random_gt(rng, 224, 224, 1 + trial % 4),
                                               "smooth " + std::to_string(trial));
    }
    EXPECT_EQ(total_mismatches, 0);
}

}  // namespace
}  // namespace wsol::eval
