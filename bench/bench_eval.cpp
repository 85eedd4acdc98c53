// Box extraction for MaxBoxAcc/MaxBoxAccV2 on one 224x224 CAM-like map at 1000 thresholds:
// the all-levels union-find sweep (eval/box_sweep.h) against the named baseline, the per-threshold
// OpenCV findContours path that wsolevaluation runs (eval/contours.h), measured in the same run.
// The whole-split comparison with the public Python code is bench/compare/eval_maxboxacc.py.
//
//   build/cpu/bin/bench_eval [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>

#include "engine/npy.h"
#include "eval/box_accuracy.h"
#include "eval/contours.h"

namespace {

using namespace wsol::eval;

// Kind 0: smooth CAM (14x14 blobs + noise, bicubic to 224, min-max). Kind 1: the same with 5% salt
// noise (many small components and holes: the hard case for both paths).
ScoreMap make_map(int kind, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.2);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    ScoreMap small(14, 14);
    double cx[3], cy[3];
    for (int k = 0; k < 3; ++k) cx[k] = u(rng) * 14, cy[k] = u(rng) * 14;
    for (int y = 0; y < 14; ++y)
        for (int x = 0; x < 14; ++x) {
            double s = noise(rng);
            for (int k = 0; k < 3; ++k) s += std::exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) / 6.0);
            small.at(y, x) = s;
        }
    ScoreMap map = normalize_min_max(resize_score_map(small, 224, 224, Interpolation::Bicubic));
    if (kind == 1) {
        for (double& v : map.values) {
            if (u(rng) < 0.05) v = u(rng);
        }
    }
    return map;
}

const std::vector<Box> kGt = {Box{40, 50, 150, 170}, Box{120, 10, 200, 90}};

void BM_Sweep(benchmark::State& state) {
    const ScoreMap map = make_map(int(state.range(0)), 7);
    const std::vector<double> taus = cam_thresholds(0.001);
    BoxSweeper sweeper;
    for (auto _ : state) {
        const QuantizedMap q = quantize_score_map(map);
        benchmark::DoNotOptimize(score_image_boxes(q, kGt, taus, sweeper));
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(state.range(0) == 0 ? "smooth CAM" : "CAM + salt noise");
}

// Baseline: what wsolevaluation does, in C++: threshold + findContours + boxes at every threshold,
// for the largest contour and for all contours.
void BM_OpenCVPerThreshold(benchmark::State& state) {
    const ScoreMap map = make_map(int(state.range(0)), 7);
    const std::vector<double> taus = cam_thresholds(0.001);
    for (auto _ : state) {
        const QuantizedMap q = quantize_score_map(map);
        double sum = 0;
        for (double tau : taus) {
            const int level = threshold_level(tau, q.max_level);
            sum += best_iou(contour_boxes(q, level, ContourSelection::Largest)[0], kGt);
            for (const Box& b : contour_boxes(q, level, ContourSelection::All)) sum += best_iou(b, kGt);
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(state.range(0) == 0 ? "smooth CAM" : "CAM + salt noise");
}

void BM_LoadNpy224(benchmark::State& state) {
    const std::string bytes = wsol::serialize_npy(score_map_to_tensor(make_map(0, 3)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(score_map_from_tensor(wsol::parse_npy(bytes, "bench"), "bench"));
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes.size()));
}

BENCHMARK(BM_Sweep)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OpenCVPerThreshold)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadNpy224)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
