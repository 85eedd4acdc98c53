// Interpolation on the CPU as a separable filter: for each output row (and, independently, each
// output column) a small table lists the input rows it reads and their weights (1 tap for
// nearest, 2 for bilinear, 4 for bicubic). Output pixel (oh, ow) is then
//   y[oh][ow] = sum_a sum_b  wh[oh][a] ww[ow][b] x[ih[oh][a]][iw[ow][b]],
// and the backward pass adds wh ww grad_y into the same input pixels. The tables reproduce
// PyTorch's index arithmetic (aten/src/ATen/native/UpSample.h and cpu/UpSampleKernel.cpp),
// including its float32 nearest scale and the scale = 1 shortcut of bilinear (axis_taps in
// ops/cpu/interpolate.h, shared with the CUDA kernels so both read the same taps).
// One OpenMP thread per group of (H, W) planes: the backward scatter has no races.
#include "ops/cpu/interpolate.h"

#include <algorithm>

#include "engine/dispatch.h"

namespace wsol::cpu {

namespace {

struct Planes {
    int64_t count, in_h, in_w, out_h, out_w;
};

template <class T>
void forward_typed(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners) {
    const Planes p{x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3)};
    const AxisTaps<T> rows = axis_taps<T>(mode, p.in_h, p.out_h, align_corners);
    const AxisTaps<T> cols = axis_taps<T>(mode, p.in_w, p.out_w, align_corners);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t th = rows.taps, tw = cols.taps;
#pragma omp parallel for schedule(static) if (p.count * p.out_h * p.out_w * th * tw > 32768)
    for (int64_t plane = 0; plane < p.count; ++plane) {
        const T* src = px + plane * p.in_h * p.in_w;
        T* dst = py + plane * p.out_h * p.out_w;
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
            for (int64_t ow = 0; ow < p.out_w; ++ow) {
                T total = T(0);
                for (int64_t a = 0; a < th; ++a) {
                    const T* row = src + rows.index[size_t(oh * th + a)] * p.in_w;
                    T along_row = T(0);
                    for (int64_t b = 0; b < tw; ++b) {
                        along_row += cols.weight[size_t(ow * tw + b)] * row[cols.index[size_t(ow * tw + b)]];
                    }
                    total += rows.weight[size_t(oh * th + a)] * along_row;
                }
                dst[oh * p.out_w + ow] = total;
            }
        }
    }
}

template <class T>
void backward_typed(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners) {
    const Planes p{grad_x.size(0) * grad_x.size(1), grad_x.size(2), grad_x.size(3), grad_y.size(2), grad_y.size(3)};
    const AxisTaps<T> rows = axis_taps<T>(mode, p.in_h, p.out_h, align_corners);
    const AxisTaps<T> cols = axis_taps<T>(mode, p.in_w, p.out_w, align_corners);
    const T* pgy = grad_y.data<T>();
    T* pgx = grad_x.data<T>();
    const int64_t th = rows.taps, tw = cols.taps;
#pragma omp parallel for schedule(static) if (p.count * p.out_h * p.out_w * th * tw > 32768)
    for (int64_t plane = 0; plane < p.count; ++plane) {
        T* gx = pgx + plane * p.in_h * p.in_w;
        std::fill(gx, gx + p.in_h * p.in_w, T(0));
        const T* gy = pgy + plane * p.out_h * p.out_w;
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
            for (int64_t ow = 0; ow < p.out_w; ++ow) {
                const T g = gy[oh * p.out_w + ow];
                for (int64_t a = 0; a < th; ++a) {
                    T* row = gx + rows.index[size_t(oh * th + a)] * p.in_w;
                    const T ga = g * rows.weight[size_t(oh * th + a)];
                    for (int64_t b = 0; b < tw; ++b) {
                        row[cols.index[size_t(ow * tw + b)]] += ga * cols.weight[size_t(ow * tw + b)];
                    }
                }
            }
        }
    }
}

}  // namespace

void interpolate(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners) {
    dispatch_floating(x.dtype(), "interpolate",
                      [&](auto tag) { forward_typed<typename decltype(tag)::type>(y, x, mode, align_corners); });
}

void interpolate_grad(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners) {
    dispatch_floating(grad_y.dtype(), "interpolate", [&](auto tag) {
        backward_typed<typename decltype(tag)::type>(grad_x, grad_y, mode, align_corners);
    });
}

}  // namespace wsol::cpu
