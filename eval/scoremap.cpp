// Score-map conversion, validation, normalisation, resize and quantisation (see scoremap.h).
#include "eval/scoremap.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "engine/error.h"

namespace wsol::eval {

ScoreMap score_map_from_tensor(const Tensor& tensor, const std::string& source) {
    WSOL_CHECK(tensor.defined(), source, ": score map tensor is undefined");
    WSOL_CHECK(tensor.dtype() == kFloat32 || tensor.dtype() == kFloat64, source, ": score map must be float32 or "
               "float64, got ", dtype_name(tensor.dtype()));
    WSOL_CHECK(tensor.dim() == 2, source, ": score map must be 2-D (H, W), got shape ", shape_str(tensor.shape()));
    WSOL_CHECK(tensor.size(0) > 0 && tensor.size(1) > 0, source, ": score map of shape ", shape_str(tensor.shape()),
               " is empty");
    WSOL_CHECK(tensor.size(0) <= 32767 && tensor.size(1) <= 32767, source, ": score map of shape ",
               shape_str(tensor.shape()), " is too large (at most 32767 on a side)");
    ScoreMap map;
    map.height = int(tensor.size(0));
    map.width = int(tensor.size(1));
    map.values = tensor.to_vector<double>();
    return map;
}

Tensor score_map_to_tensor(const ScoreMap& map) {
    return Tensor::from_vector<double>(map.values, {map.height, map.width});
}

void check_score_map(const ScoreMap& map, const std::string& source) {
    for (size_t i = 0; i < map.values.size(); ++i) {
        const double v = map.values[i];
        if (v >= 0.0 && v <= 1.0) [[likely]] continue;
        const int y = int(i / size_t(map.width)), x = int(i % size_t(map.width));
        WSOL_CHECK(!std::isnan(v), source, ": score map contains NaN (first at row ", y, ", column ", x, ")");
        WSOL_FAIL(source, ": score map value ", v, " at row ", y, ", column ", x,
                  " is outside [0, 1] (normalise the map first)");
    }
}

ScoreMap normalize_min_max(ScoreMap map) {
    double lo = INFINITY, hi = -INFINITY;
    for (double v : map.values) {
        if (std::isnan(v)) {
            std::fill(map.values.begin(), map.values.end(), 0.0);
            return map;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (map.values.empty() || lo == hi) {
        std::fill(map.values.begin(), map.values.end(), 0.0);
        return map;
    }
    // numpy: cam -= cam.min(); cam /= cam.max() -- the max is taken after the subtraction.
    double shifted_max = -INFINITY;
    for (double& v : map.values) {
        v -= lo;
        shifted_max = std::max(shifted_max, v);
    }
    for (double& v : map.values) v /= shifted_max;
    return map;
}

ScoreMap resize_score_map(const ScoreMap& map, int height, int width, Interpolation interpolation) {
    WSOL_CHECK(height > 0 && width > 0, "resize_score_map: target size ", height, "x", width, " is not positive");
    WSOL_CHECK(map.height > 0 && map.width > 0, "resize_score_map: the map is empty");
    const cv::Mat src(map.height, map.width, CV_64FC1, const_cast<double*>(map.values.data()));
    ScoreMap out(height, width);
    cv::Mat dst(height, width, CV_64FC1, out.values.data());
    cv::resize(src, dst, cv::Size(width, height), 0, 0,
               interpolation == Interpolation::Bicubic ? cv::INTER_CUBIC : cv::INTER_LINEAR);
    WSOL_CHECK(dst.data == reinterpret_cast<uchar*>(out.values.data()), "resize_score_map: OpenCV reallocated");
    return out;
}

QuantizedMap quantize_score_map(const ScoreMap& map) {
    QuantizedMap q;
    q.height = map.height;
    q.width = map.width;
    q.levels.resize(map.values.size());
    int max_level = 0;
    for (size_t i = 0; i < map.values.size(); ++i) {
        // numpy (s * 255).astype(uint8): float64 product, truncation toward zero.
        const double scaled = map.values[i] * 255.0;
        const int level = scaled >= 255.0 ? 255 : scaled > 0.0 ? int(scaled) : 0;
        q.levels[i] = uint8_t(level);
        max_level = std::max(max_level, level);
    }
    q.max_level = max_level;
    return q;
}

std::vector<double> cam_thresholds(double interval) {
    WSOL_CHECK(interval > 0.0 && interval < 1.0, "cam_thresholds: the interval ", interval,
               " must lie strictly between 0 and 1");
    // numpy.arange: length ceil((stop - start) / step); element i = start + i * step.
    const double n = std::ceil(1.0 / interval);
    WSOL_CHECK(n <= 1e7, "cam_thresholds: the interval ", interval, " gives too many thresholds (", n, ")");
    std::vector<double> out(static_cast<size_t>(n));
    for (size_t i = 0; i < out.size(); ++i) out[i] = double(i) * interval;
    WSOL_CHECK(out.back() < 1.0, "cam_thresholds: the interval ", interval, " gives a last threshold of ", out.back(),
               ", not below 1");
    return out;
}

int threshold_level(double tau, int max_level) { return int(tau * double(max_level)); }

}  // namespace wsol::eval
