// PxAP and the legacy Top-1/Top-5/GT-known protocol on hand-worked maps and hand-built records.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "eval/legacy.h"
#include "eval/pxap.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

ScoreMap map_of(int h, int w, std::vector<double> values) {
    ScoreMap m(h, w);
    m.values = std::move(values);
    return m;
}

GtMask mask_of(int h, int w, std::vector<uint8_t> labels) { return GtMask{h, w, std::move(labels)}; }

TEST(Pxap, HandWorkedCurve) {
    // Thresholds 0, 0.5 -> edges 0, 0.5, 1, 2, 3; bins [0,.5) [.5,1) [1,2) [2,3].
    // Scores 0.2 (GT 1), 0.7 (GT 1), 1.0 (GT 0), 0.4 (ignored).
    // Positive histogram [1,1,0,0], negative [0,0,1,0]. From the top bin down:
    // TP = 0,0,1,2; FP = 0,1,1,1; FN = 2,2,1,0; P = nan,0,1/2,2/3; R = 0,0,1/2,1.
    // PxAP = 100 * (0*(0-0) + 1/2*(1/2-0) + 2/3*(1-1/2)), summed from 0.0 left to right.
    PxapAccumulator acc(cam_thresholds(0.5));
    acc.add(map_of(1, 4, {0.2, 0.7, 1.0, 0.4}), mask_of(1, 4, {1, 1, 0, 255}), "m");
    const PxapResult r = acc.result();
    EXPECT_EQ(r.positive_histogram, (std::vector<int64_t>{1, 1, 0, 0}));
    EXPECT_EQ(r.negative_histogram, (std::vector<int64_t>{0, 0, 1, 0}));
    EXPECT_TRUE(std::isnan(r.precision[0]));
    EXPECT_EQ(r.recall, (std::vector<double>{0.0, 0.0, 0.5, 1.0}));
    EXPECT_EQ(r.pxap, (((0.0 + 0.0 * 0.0) + 0.5 * 0.5) + (2.0 / 3.0) * 0.5) * 100.0);
}

TEST(Pxap, ConstantAndPerfectMaps) {
    // A constant map: one operating point, precision = positive fraction (1 of 4), recall 1: PxAP 25.
    PxapAccumulator constant(cam_thresholds(0.01));
    constant.add(map_of(2, 2, {0.3, 0.3, 0.3, 0.3}), mask_of(2, 2, {1, 0, 0, 0}), "c");
    EXPECT_EQ(constant.result().pxap, 25.0);
    // A perfect map (1 on the foreground, 0 elsewhere): precision 1 at recall 1: PxAP 100.
    PxapAccumulator perfect(cam_thresholds(0.01));
    perfect.add(map_of(2, 2, {1.0, 0.0, 1.0, 0.0}), mask_of(2, 2, {1, 0, 1, 0}), "p");
    EXPECT_EQ(perfect.result().pxap, 100.0);
    // Accumulation is over the split: two images merged equal one image with all their pixels.
    PxapAccumulator a(cam_thresholds(0.1)), b(cam_thresholds(0.1)), both(cam_thresholds(0.1));
    a.add(map_of(1, 2, {0.15, 0.95}), mask_of(1, 2, {0, 1}), "a");
    b.add(map_of(1, 2, {0.55, 0.25}), mask_of(1, 2, {1, 0}), "b");
    both.add(map_of(1, 4, {0.15, 0.95, 0.55, 0.25}), mask_of(1, 4, {0, 1, 1, 0}), "ab");
    a.merge(b);
    EXPECT_EQ(a.result().pxap, both.result().pxap);
    EXPECT_EQ(a.result().pxap, 100.0);  // every positive scores above every negative
}

TEST(Pxap, Errors) {
    PxapAccumulator acc(cam_thresholds(0.1));
    EXPECT_WSOL_ERROR(acc.add(map_of(1, 2, {0.1, 0.2}), mask_of(1, 3, {0, 0, 0}), "x.npy"),
                      "x.npy: score map 1x2 and GT mask 1x3 differ in size");
    acc.add(map_of(1, 2, {0.1, 0.2}), mask_of(1, 2, {0, 0}), "n");
    EXPECT_WSOL_ERROR(acc.result(), "no positive ground truth");
    PxapAccumulator ignored(cam_thresholds(0.1));
    ignored.add(map_of(1, 2, {0.1, 0.2}), mask_of(1, 2, {1, 255}), "i");
    EXPECT_EQ(ignored.result().pxap, 100.0);  // one positive, no negative: precision 1
}

TEST(Pxap, LoadsMasksLikeWsolevaluation) {
    // 8x8 PNGs resized nearest to 4x4 take source pixel (2y, 2x). Instance: rows/cols 0-3 set;
    // ignore: rows/cols 2-7 set. Worked by hand:
    //   row 0: 1 1 0 0 / row 1: 1 1 255 255 / rows 2-3: 0 255 255 255
    const std::string dir = ::testing::TempDir() + "/wsol_masks_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir + "/sub");
    cv::Mat instance(8, 8, CV_8UC1, cv::Scalar(0)), ignore(8, 8, CV_8UC1, cv::Scalar(0));
    instance(cv::Rect(0, 0, 4, 4)).setTo(255);
    ignore(cv::Rect(2, 2, 6, 6)).setTo(255);
    cv::imwrite(dir + "/sub/m0.png", instance);
    cv::imwrite(dir + "/sub/ignore.png", ignore);
    const std::vector<std::string> paths = {"sub/m0.png"};
    const GtMask m = load_gt_mask(dir, paths, "sub/ignore.png", 4, 4);
    EXPECT_EQ(m.labels, (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 255, 255, 0, 255, 255, 255, 0, 255, 255, 255}));
    EXPECT_WSOL_ERROR(load_gt_mask(dir, paths, "sub/missing.png", 4, 4), "sub/missing.png: cannot read the mask image");
    std::filesystem::remove_all(dir);
}

TEST(Legacy, BoxRules) {
    // 4x6 map; two 3-pixel components tie: A at (0,0),(1,0),(0,1) and B at (4,2),(5,2),(5,3).
    // A's first pixel comes first in raster order, so A wins: [0,0,1,1] + 1 -> [0,0,2,2].
    ScoreMap m(4, 6, 0.0);
    m.at(0, 0) = m.at(0, 1) = m.at(1, 0) = 0.9;
    m.at(2, 4) = m.at(2, 5) = m.at(3, 5) = 0.9;
    EXPECT_EQ(legacy_box(m, 0.5), (Box{0, 0, 2, 2}));
    // A fourth pixel joined to B diagonally (8-connectivity) makes B larger: [3,1]..[5,3] -> [3,1,6,4].
    m.at(1, 3) = 0.9;
    EXPECT_EQ(legacy_box(m, 0.5), (Box{3, 1, 6, 4}));
    // Nothing above the threshold: the whole map [0,0,W,H].
    EXPECT_EQ(legacy_box(m, 0.95), (Box{0, 0, 6, 4}));
    // The comparison is in float32: float(0.4) > float(0.4) is false, the next float above is true.
    ScoreMap f(1, 2, 0.0);
    f.at(0, 0) = 0.4;
    f.at(0, 1) = double(std::nextafter(0.4f, 1.0f));
    EXPECT_EQ(legacy_box(f, 0.4), (Box{1, 0, 2, 1}));
}

TEST(Legacy, PrepareMap) {
    // 2x2 raw map 0..3: (v - 0) / float(3 + 1e-5), then bilinear 2 -> 4: the corners keep the
    // source corners (half-pixel centres, clamped border), the middle interpolates.
    ScoreMap raw(2, 2);
    raw.values = {0.0, 1.0, 2.0, 3.0};
    const ScoreMap m = legacy_prepare_map(raw, 4);
    const float denominator = float(3.0 + 1e-5);
    EXPECT_EQ(m.at(0, 0), 0.0);
    EXPECT_EQ(m.at(3, 3), double(3.0f / denominator));
    EXPECT_LT(m.at(3, 3), 1.0);
    EXPECT_EQ(m.height, 4);
}

EvalRecord block_record(double value, int rows, int cols, Box gt, int label, std::vector<int> top5) {
    EvalRecord r;
    r.score_map = ScoreMap(10, 10, 0.0);
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) r.score_map.at(y + gt.y0, x + gt.x0) = value;
    r.gt_boxes = {gt};
    r.label = label;
    r.top5 = std::move(top5);
    return r;
}

TEST(Legacy, AccumulatesHandBuiltRecords) {
    // R1: 0.8 block rows/cols 2-5, GT [2,2,6,6] -> box [2,2,6,6], IoU 1 at 0.3 and 0.5; top-1 and top-5 right.
    // R2: 0.4 block rows/cols 0-4, GT [0,0,5,5] -> at 0.3 IoU 1; at 0.5 nothing -> [0,0,10,10],
    //     IoU 36/121 = 0.2975 (no hit, below 0.3); top-1 wrong, top-5 right.
    // R3: all zeros, GT [0,0,9,9] -> [0,0,10,10] at both, IoU 100/121 = 0.826 (hit); no predictions.
    // tau 0.3: GT-known 3, Top-1 Loc 1, Top-5 Loc 2, IoU70 3.  tau 0.5: GT-known 2, Top-1 1, Top-5 1, IoU30 2.
    // Cls: top-1 1, top-5 2. Best: 0.3 (100 + 33.3 beats 66.7 + 33.3).
    LegacyAccumulator acc({0.3, 0.5});
    acc.add(block_record(0.8, 4, 4, {2, 2, 6, 6}, 1, {1, 2, 3, 4, 5}));
    LegacyAccumulator part({0.3, 0.5});
    part.add(block_record(0.4, 5, 5, {0, 0, 5, 5}, 2, {7, 2, 3}));
    EvalRecord zeros = block_record(0.0, 0, 0, {0, 0, 9, 9}, 0, {});
    part.add(zeros);
    acc.merge(part);
    const LegacyResult r = acc.result();
    EXPECT_EQ(r.num_images, 3);
    EXPECT_EQ(r.top1_cls, 1);
    EXPECT_EQ(r.top5_cls, 2);
    const LegacyThresholdResult& a = r.per_threshold[0];
    const LegacyThresholdResult& b = r.per_threshold[1];
    EXPECT_EQ(a.gt_known, 3);
    EXPECT_EQ(a.top1_loc, 1);
    EXPECT_EQ(a.top5_loc, 2);
    EXPECT_EQ(a.iou70, 3);
    EXPECT_EQ(b.gt_known, 2);
    EXPECT_EQ(b.top1_loc, 1);
    EXPECT_EQ(b.top5_loc, 1);
    EXPECT_EQ(b.iou30, 2);
    EXPECT_EQ(r.best_index, 0u);
    EXPECT_EQ(r.percent(a.gt_known), 100.0);
    EXPECT_WSOL_ERROR(LegacyAccumulator({0.1}).merge(acc), "different threshold lists");
}

}  // namespace
}  // namespace wsol::eval
