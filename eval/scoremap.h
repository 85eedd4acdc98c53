// Score maps: the per-image localization heat maps every protocol starts from, and the steps that
// turn a raw class activation map into what the box extraction sees.
//
// wsolevaluation (evaluation.md B2-B4):
//   raw CAM --OpenCV bicubic resize to 224x224--> min-max normalise (NaN or constant -> zeros)
//   --> validity check (2-D, no NaN, within [0, 1]) --> quantise uint8(trunc(s * 255))
//   --> per threshold tau: level int(tau * max(quantised)), foreground = quantised > level.
// The legacy protocol of SAT/CSFN/TS-CAM (sat_csfn.md A2/A5) lives in eval/legacy.h.
//
// Maps are kept in float64 whatever they were stored as (float32 converts exactly), like
// wsolevaluation, whose loader hands the evaluator float64 arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace wsol::eval {

struct ScoreMap {
    int height = 0, width = 0;
    std::vector<double> values;  // row-major, height * width

    ScoreMap() = default;
    ScoreMap(int h, int w, double fill = 0.0) : height(h), width(w), values(size_t(h) * size_t(w), fill) {}
    double& at(int y, int x) { return values[size_t(y) * size_t(width) + size_t(x)]; }
    double at(int y, int x) const { return values[size_t(y) * size_t(width) + size_t(x)]; }
};

// A 2-D float32 or float64 tensor (any strides, CPU or CUDA) as a score map. Throws naming
// `source` for any other dtype or rank.
ScoreMap score_map_from_tensor(const Tensor& tensor, const std::string& source);
Tensor score_map_to_tensor(const ScoreMap& map);  // float64 (H, W)

// wsolevaluation's check_scoremap_validity: no NaN and every value in [0, 1]. Throws naming
// `source`, the offending value and its position.
void check_score_map(const ScoreMap& map, const std::string& source);

// wsolevaluation's normalize_scoremap (inference.py): s = (m - min) / max(m - min), computed in
// float64 in that order; a map containing NaN, or a constant map, becomes all zeros.
ScoreMap normalize_min_max(ScoreMap map);

enum class Interpolation { Bilinear, Bicubic };
// OpenCV resize (INTER_LINEAR or INTER_CUBIC, half-pixel centres, replicated border) of the map
// in float64, to height x width. Bicubic can overshoot [min, max]; normalise afterwards.
ScoreMap resize_score_map(const ScoreMap& map, int height, int width, Interpolation interpolation);

// The map as wsolevaluation thresholds it: level = uint8(trunc(s * 255)), and its maximum.
struct QuantizedMap {
    int height = 0, width = 0;
    std::vector<uint8_t> levels;
    int max_level = 0;
};
// Expects a valid map (check_score_map); values outside [0, 1] are clamped for safety.
QuantizedMap quantize_score_map(const ScoreMap& map);

// numpy.arange(0, 1, interval) in float64: n = ceil(1 / interval) values, value i = i * interval.
// Throws unless 0 < interval < 1 and the values strictly increase below 1.
std::vector<double> cam_thresholds(double interval);
// The integer threshold wsolevaluation passes to cv2.threshold: int(tau * max_level).
int threshold_level(double tau, int max_level);

}  // namespace wsol::eval
