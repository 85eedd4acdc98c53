// CPU kernels of interpolate (ops/interpolate.h). x and y are contiguous (N, C, H, W) tensors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/interpolate.h"

namespace wsol::cpu {

// ---- the per-axis tap tables (PyTorch's index arithmetic), also used by ops/cuda/interpolate.cu ----

inline constexpr double kCubicA = -0.75;  // PyTorch's (and OpenCV's) bicubic coefficient

// The taps of one axis: for output position o, input indices index[o*taps + t], weights likewise.
template <class T>
struct AxisTaps {
    int64_t taps = 1;
    std::vector<int64_t> index;
    std::vector<T> weight;
};

// Keys' cubic convolution kernel: |x| <= 1 and 1 < |x| < 2 branches.
template <class T>
T cubic_inner(T x) {
    const T a = T(kCubicA);
    return ((a + T(2)) * x - (a + T(3))) * x * x + T(1);
}
template <class T>
T cubic_outer(T x) {
    const T a = T(kCubicA);
    return ((a * x - T(5) * a) * x + T(8) * a) * x - T(4) * a;
}

template <class T>
AxisTaps<T> axis_taps(InterpMode mode, int64_t in, int64_t out, bool align_corners) {
    AxisTaps<T> axis;
    axis.taps = mode == InterpMode::Nearest ? 1 : mode == InterpMode::Bilinear ? 2 : 4;
    axis.index.resize(size_t(out * axis.taps));
    axis.weight.resize(size_t(out * axis.taps));
    // Source position scale (area_pixel_compute_scale): in/out, or (in-1)/(out-1) with align_corners.
    const T scale = align_corners ? (out > 1 ? T(in - 1) / T(out - 1) : T(0)) : T(in) / T(out);
    const float nearest_scale = float(in) / float(out);  // PyTorch computes the nearest scale in float32
    for (int64_t o = 0; o < out; ++o) {
        int64_t* idx = axis.index.data() + o * axis.taps;
        T* w = axis.weight.data() + o * axis.taps;
        if (mode == InterpMode::Nearest) {
            idx[0] = std::min(int64_t(std::floor(float(o) * nearest_scale)), in - 1);
            w[0] = T(1);
            continue;
        }
        // Source position (area_pixel_compute_source_index); linear modes clamp it at 0, cubic not.
        T real = align_corners ? scale * T(o) : scale * (T(o) + T(0.5)) - T(0.5);
        if (mode == InterpMode::Bilinear && real < T(0)) real = T(0);
        const int64_t base = std::min(int64_t(std::floor(real)), in - 1);
        const T t = std::clamp(real - T(base), T(0), T(1));
        if (mode == InterpMode::Bilinear) {
            if (in == out) {  // PyTorch copies at scale 1 rather than computing the (equal) weights
                idx[0] = idx[1] = o;
                w[0] = T(1);
                w[1] = T(0);
            } else {
                idx[0] = base;
                idx[1] = base + (base < in - 1 ? 1 : 0);
                w[0] = T(1) - t;
                w[1] = t;
            }
        } else {
            w[0] = cubic_outer(t + T(1));
            w[1] = cubic_inner(t);
            w[2] = cubic_inner(T(1) - t);
            w[3] = cubic_outer(T(2) - t);
            for (int64_t k = 0; k < 4; ++k) idx[k] = std::clamp<int64_t>(base - 1 + k, 0, in - 1);
        }
    }
    return axis;
}

// ---- kernels ----

void interpolate(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners);
// grad_x (zeroed here) receives grad_y scattered back through the same taps and weights.
void interpolate_grad(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners);

}  // namespace wsol::cpu
