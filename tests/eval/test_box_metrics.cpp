// Box IoU, GT rescaling, thresholds, quantisation and the MaxBoxAcc accumulator, on hand-worked
// numbers (each expected value is derived in the comment next to it).
#include <cmath>

#include "eval/box_accuracy.h"
#include "eval/contours.h"
#include "eval/numpy_compat.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

TEST(BoxIou, InclusiveConvention) {
    // Identical single pixels: 1 / (1 + 1 - 1) = 1.
    EXPECT_EQ(box_iou({3, 5, 3, 5}, {3, 5, 3, 5}), 1.0);
    // [0,0,1,1] (2x2 = 4) and [1,1,2,2] (4): they share pixel (1,1): 1 / (4 + 4 - 1) = 1/7.
    EXPECT_EQ(box_iou({0, 0, 1, 1}, {1, 1, 2, 2}), 1.0 / 7.0);
    // Touching edges without sharing a pixel column: [0,0,1,1] and [2,0,3,1]: 0.
    EXPECT_EQ(box_iou({0, 0, 1, 1}, {2, 0, 3, 1}), 0.0);
    // [0,0,3,5] (4x6 = 24) vs [2,2,5,4] (4x3 = 12): overlap [2,2,3,4] = 2x3 = 6: 6 / (24 + 12 - 6) = 1/5.
    EXPECT_EQ(box_iou({0, 0, 3, 5}, {2, 2, 5, 4}), 6.0 / 30.0);
    // A degenerate (reversed) box has a non-positive area: the denominator rule gives 0.
    EXPECT_EQ(box_iou({5, 5, 3, 3}, {5, 5, 3, 3}), 0.0);
    // Best match over several GT boxes.
    const std::vector<Box> gt = {{10, 10, 20, 20}, {0, 0, 1, 1}};
    EXPECT_EQ(best_iou({0, 0, 1, 1}, gt), 1.0);
    EXPECT_EQ(best_iou({0, 0, 1, 1}, {}), -1.0);
}

TEST(BoxIou, RescaleLikeResizeBbox) {
    // (5,10,30,20) of a 40x40 image resized to 20 wide, 10 high: (5*20/40, 10*10/40, 30*20/40, 20*10/40)
    // = (2.5, 2.5, 15, 5), truncated to (2, 2, 15, 5).
    EXPECT_EQ(rescale_box({5, 10, 30, 20}, 40, 40, 20, 10), (Box{2, 2, 15, 5}));
    // 500x375 image to 224: x = 499 * 224 / 500 = 223.552 -> 223; y = 374 * 224 / 375 = 223.40 -> 223.
    EXPECT_EQ(rescale_box({0, 0, 499, 374}, 500, 375, 224, 224), (Box{0, 0, 223, 223}));
    // Float rounding matters: 7 * 224 / 28 = 56 exactly -> 56 (not 55).
    EXPECT_EQ(rescale_box({7, 7, 7, 7}, 28, 28, 224, 224), (Box{56, 56, 56, 56}));
}

TEST(BoxIou, LegacyCropBox) {
    // 512x512 image, resize 256, crop 224 (shift 16): x0 = 100/512*256 - 16 = 34; x1 = 400/512*256 - 16 = 184.
    EXPECT_EQ(legacy_crop_box({100, 100, 400, 400}, 512, 512), (Box{34, 34, 184, 184}));
    // A box in the cropped-away margin: x0 clamps to 0, x1 = 10/512*256 - 16 = -11 -> int(-11) = -11 (x1 < x0 kept).
    EXPECT_EQ(legacy_crop_box({0, 0, 10, 10}, 512, 512), (Box{0, 0, -11, -11}));
    // Right edge clamps at 223.
    EXPECT_EQ(legacy_crop_box({0, 0, 511, 511}, 512, 512).x1, 223);
    EXPECT_WSOL_ERROR(check_box({0, 0, -11, 3}, "gt"), "gt: box [0,0,-11,3] has a negative coordinate");
    EXPECT_WSOL_ERROR(check_box({4, 0, 3, 3}, "gt"), "x1 < x0");
}

TEST(Thresholds, NumpyArange) {
    const std::vector<double> t = cam_thresholds(0.001);
    ASSERT_EQ(t.size(), 1000u);
    EXPECT_EQ(t[0], 0.0);
    EXPECT_EQ(t[1], 0.001);
    EXPECT_EQ(t[999], 999 * 0.001);
    EXPECT_EQ(cam_thresholds(0.01).size(), 100u);
    // ceil(1 / 0.3) = 4 thresholds: 0, 0.3, 0.6, 0.9 (0.8999999999999999 in float64).
    EXPECT_EQ(cam_thresholds(0.3).size(), 4u);
    EXPECT_EQ(cam_thresholds(0.3)[3], 3 * 0.3);
    EXPECT_WSOL_ERROR(cam_thresholds(0.0), "must lie strictly between 0 and 1");
    EXPECT_WSOL_ERROR(cam_thresholds(1.5), "must lie strictly between 0 and 1");
    // The integer level: int(0.3 * 255) = int(76.5) = 76; int(0.999 * 255) = 254.
    EXPECT_EQ(threshold_level(0.3, 255), 76);
    EXPECT_EQ(threshold_level(0.999, 255), 254);
    EXPECT_EQ(threshold_level(0.5, 0), 0);
}

TEST(ScoreMapPrep, QuantiseAndValidate) {
    ScoreMap m(1, 5);
    m.values = {0.0, 1.0, 0.5, 0.99999, 1.0 / 255.0};
    const QuantizedMap q = quantize_score_map(m);
    // 0.5 * 255 = 127.5 -> 127; 0.99999 * 255 = 254.997 -> 254; (1/255) * 255 = 1 (exactly 1.0 in float64).
    EXPECT_EQ(q.levels, (std::vector<uint8_t>{0, 255, 127, 254, 1}));
    EXPECT_EQ(q.max_level, 255);
    check_score_map(m, "m.npy");
    m.values[2] = NAN;
    EXPECT_WSOL_ERROR(check_score_map(m, "m.npy"), "m.npy: score map contains NaN (first at row 0, column 2)");
    m.values[2] = 1.5;
    EXPECT_WSOL_ERROR(check_score_map(m, "m.npy"), "m.npy: score map value 1.5 at row 0, column 2 is outside [0, 1]");
    m.values[2] = -0.0;  // negative zero is inside [0, 1]
    check_score_map(m, "m.npy");
}

TEST(ScoreMapPrep, MinMaxNormalisation) {
    ScoreMap m(1, 4);
    m.values = {2.0, 4.0, 3.0, 6.0};
    // (v - 2) / (6 - 2): 0, 0.5, 0.25, 1.
    EXPECT_EQ(normalize_min_max(m).values, (std::vector<double>{0.0, 0.5, 0.25, 1.0}));
    m.values = {3.0, 3.0, 3.0, 3.0};
    EXPECT_EQ(normalize_min_max(m).values, (std::vector<double>(4, 0.0)));  // constant -> zeros
    m.values = {0.0, NAN, 1.0, 2.0};
    EXPECT_EQ(normalize_min_max(m).values, (std::vector<double>(4, 0.0)));  // NaN -> zeros
}

TEST(ScoreMapPrep, TensorConversionErrors) {
    EXPECT_WSOL_ERROR(score_map_from_tensor(Tensor::zeros({2, 2}, kInt64), "a.npy"),
                      "a.npy: score map must be float32 or float64, got int64");
    EXPECT_WSOL_ERROR(score_map_from_tensor(Tensor::zeros({1, 2, 2}), "b.npy"),
                      "b.npy: score map must be 2-D (H, W), got shape (1,2,2)");
    EXPECT_WSOL_ERROR(score_map_from_tensor(Tensor::zeros({0, 2}), "c.npy"), "is empty");
    const ScoreMap m = score_map_from_tensor(Tensor::from_vector<float>({0.25f, 0.5f}, {1, 2}), "d.npy");
    EXPECT_EQ(m.values, (std::vector<double>{0.25, 0.5}));
}

TEST(ScoreMapPrep, ResizeMatchesOpenCVConventions) {
    // Bilinear 2 -> 4 with half-pixel centres: output x maps to source (x + 0.5) / 2 - 0.5, i.e.
    // -0.25, 0.25, 0.75, 1.25, clamped at the edges: values 0, 0.25, 0.75, 1 for a 0..1 ramp.
    ScoreMap m(1, 2);
    m.values = {0.0, 1.0};
    const ScoreMap r = resize_score_map(m, 1, 4, Interpolation::Bilinear);
    EXPECT_EQ(r.values, (std::vector<double>{0.0, 0.25, 0.75, 1.0}));
}

TEST(NumpySum, PairwiseOrder) {
    // Below 8 values a plain loop; the pairwise tree from 8 on. 1e16 + 1 + 1 ... shows the order:
    // a plain loop loses every 1 added to 1e16, pairwise adds the ones among themselves first.
    std::vector<double> v(16, 1.0);
    v[0] = 1e16;
    // Eight partial sums r_j = v[j] + v[j+8]: r_0 = 1e16 + 1 = 1e16 (rounded), r_1..r_7 = 2.
    // ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)) = (1e16 + 2 + 4) + 8 = 1e16 + 14.
    EXPECT_EQ(numpy_sum(v), 1e16 + 14.0);
    EXPECT_EQ(numpy_sum(std::vector<double>{0.1, 0.2, 0.3}), (0.1 + 0.2) + 0.3);
    EXPECT_EQ(numpy_sum(std::vector<double>{}), 0.0);
}

TEST(BoxAccumulator, HandWorkedCounts) {
    // Two CAM thresholds, three images with chosen IoUs (largest, all) per threshold:
    //   image A: (0.6, 0.6), (0.2, 0.8)    image B: (0.5, 0.5), (0.3, 0.3)    image C: (0.0, 0.1), (0.7, 0.7)
    // delta 0.5, largest: threshold 0 -> A, B = 2; threshold 1 -> C = 1.  max = 200/3 at threshold 0.
    // delta 0.5, all:     threshold 0 -> A, B = 2; threshold 1 -> A, C = 2.  max = 200/3, first index 0.
    // delta 0.7, all: threshold 1 -> A, C = 2 (66.67), threshold 0 -> 0.  delta 0.3, all: 2 and 3.
    BoxAccumulator acc({0.0, 0.5}, {30, 50, 70});
    auto scores = [](std::vector<std::pair<double, double>> v) {
        ImageBoxScores s;
        for (auto [largest, all] : v) s.per_threshold.push_back(LevelResult{Box{}, largest, all});
        return s;
    };
    BoxAccumulator part({0.0, 0.5}, {30, 50, 70});
    acc.add(scores({{0.6, 0.6}, {0.2, 0.8}}));
    part.add(scores({{0.5, 0.5}, {0.3, 0.3}}));
    part.add(scores({{0.0, 0.1}, {0.7, 0.7}}));
    acc.merge(part);
    const BoxAccResult r = acc.result();
    EXPECT_EQ(r.num_images, 3);
    EXPECT_EQ(r.largest[1].num_correct, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(r.all[1].num_correct, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(r.all[2].num_correct, (std::vector<int64_t>{0, 2}));
    EXPECT_EQ(r.all[0].num_correct, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(r.maxboxacc, 2 * 100.0 / 3);
    EXPECT_EQ(r.all[1].best_index, 0u);
    EXPECT_EQ(r.all[2].best_index, 1u);
    // V2 = (100 + 200/3 + 200/3) / 3 in numpy's order.
    EXPECT_EQ(r.maxboxacc_v2, ((3 * 100.0 / 3 + 2 * 100.0 / 3) + 2 * 100.0 / 3) / 3);
    EXPECT_WSOL_ERROR(BoxAccumulator({0.0}, {}).result(), "no IoU thresholds");
    EXPECT_WSOL_ERROR(acc.add(scores({{0.1, 0.1}})), "1 scores for 2 CAM thresholds");
}

TEST(BoxAccumulator, ScoreImageUsesQuantisedLevels) {
    // A 4x4 map with a 2x2 block of 0.6 at (1,1): quantised 153. Thresholds 0, 0.5, 0.7:
    // levels int(0 * 153) = 0, int(0.5 * 153) = 76, int(0.7 * 153) = 107: all keep the block
    // (153 > 107), so every box is [1,1,3,3] (the block grown by one: boundingRect x + w).
    // GT [1,1,3,3] -> IoU 1 everywhere. The map's maximum is 153, not 255: the levels scale with it.
    ScoreMap m(4, 4, 0.0);
    for (int y = 1; y <= 2; ++y)
        for (int x = 1; x <= 2; ++x) m.at(y, x) = 0.6;
    const QuantizedMap q = quantize_score_map(m);
    EXPECT_EQ(q.max_level, 153);
    BoxSweeper sweeper;
    const std::vector<Box> gt = {{1, 1, 3, 3}};
    const ImageBoxScores s = score_image_boxes(q, gt, std::vector<double>{0.0, 0.5, 0.7}, sweeper);
    for (const LevelResult& r : s.per_threshold) {
        EXPECT_EQ(r.largest, (Box{1, 1, 3, 3}));
        EXPECT_EQ(r.largest_iou, 1.0);
        EXPECT_EQ(r.all_iou, 1.0);
    }
    EXPECT_EQ(contour_boxes(q, 107, ContourSelection::All), (std::vector<Box>{{1, 1, 3, 3}}));
}

}  // namespace
}  // namespace wsol::eval
