// Pooling kernels on the CPU: one OpenMP thread per group of (H, W) planes, so no two threads
// touch the same plane (the backward passes add into grad_x without races).
//
// Window bounds follow PyTorch's CPU kernels (MaxPoolKernel.cpp, AvgPoolKernel.cpp,
// AdaptiveAvgPoolKernel.cpp) so that ties, NaN, and ceil_mode edges match exactly.
#include "ops/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/dispatch.h"

namespace wsol::cpu {

namespace {

constexpr int64_t kGrain = 16384;  // output elements per thread before splitting

bool worth_threads(const Pool2dGeometry& g, int64_t work_per_output) {
    return g.planes * g.out_h * g.out_w * work_per_output > kGrain;
}

// The input rows [begin, end) an avg-pool window covers, and its area for the divisor.
struct AvgWindow {
    int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
    int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
    int64_t h1 = std::min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = std::min(w0 + g.kernel_w, g.in_w + g.pad_w);
    const int64_t padded_area = (h1 - h0) * (w1 - w0);  // clipped to the padding, not to the input
    h0 = std::max<int64_t>(h0, 0);
    w0 = std::max<int64_t>(w0, 0);
    h1 = std::min(h1, g.in_h);
    w1 = std::min(w1, g.in_w);
    return {h0, h1, w0, w1, g.count_include_pad ? padded_area : (h1 - h0) * (w1 - w0)};
}

int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <class T>
void max_pool_typed(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2dGeometry& g) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pi = indices.data<int64_t>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (worth_threads(g, g.kernel_h * g.kernel_w))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = px + p * in_plane;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
                const int64_t h1 = std::min(h0 + (g.kernel_h - 1) * g.dilation_h + 1, g.in_h);
                const int64_t w1 = std::min(w0 + (g.kernel_w - 1) * g.dilation_w + 1, g.in_w);
                while (h0 < 0) h0 += g.dilation_h;  // skip the taps in the padding (they are -inf)
                while (w0 < 0) w0 += g.dilation_w;
                int64_t best_index = h0 * g.in_w + w0;
                T best = -std::numeric_limits<T>::infinity();
                for (int64_t h = h0; h < h1; h += g.dilation_h) {
                    for (int64_t w = w0; w < w1; w += g.dilation_w) {
                        const T v = plane[h * g.in_w + w];
                        if (v > best || std::isnan(v)) {  // strictly greater: the first maximum wins
                            best = v;
                            best_index = h * g.in_w + w;
                        }
                    }
                }
                py[p * out_plane + oh * g.out_w + ow] = best;
                pi[p * out_plane + oh * g.out_w + ow] = best_index;
            }
        }
    }
}

template <class T>
void max_pool_grad_typed(const Tensor& grad_x, const Tensor& grad_y, const Tensor& indices, const Pool2dGeometry& g) {
    const T* pgy = grad_y.data<T>();
    const int64_t* pi = indices.data<int64_t>();
    T* pgx = grad_x.data<T>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (worth_threads(g, 1))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* gx = pgx + p * in_plane;
        std::fill(gx, gx + in_plane, T(0));
        for (int64_t o = 0; o < out_plane; ++o) gx[pi[p * out_plane + o]] += pgy[p * out_plane + o];
    }
}

template <class T>
void avg_pool_typed(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (worth_threads(g, g.kernel_h * g.kernel_w))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = px + p * in_plane;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const AvgWindow win = avg_window(g, oh, ow);
                T total = T(0);
                for (int64_t h = win.h0; h < win.h1; ++h) {
                    for (int64_t w = win.w0; w < win.w1; ++w) total += plane[h * g.in_w + w];
                }
                const bool empty = win.h0 >= win.h1 || win.w0 >= win.w1;
                py[p * out_plane + oh * g.out_w + ow] = empty ? T(0) : total / T(win.divisor);
            }
        }
    }
}

template <class T>
void avg_pool_grad_typed(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    const T* pgy = grad_y.data<T>();
    T* pgx = grad_x.data<T>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (worth_threads(g, g.kernel_h * g.kernel_w))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* gx = pgx + p * in_plane;
        std::fill(gx, gx + in_plane, T(0));
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const AvgWindow win = avg_window(g, oh, ow);
                if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
                const T share = pgy[p * out_plane + oh * g.out_w + ow] / T(win.divisor);
                for (int64_t h = win.h0; h < win.h1; ++h) {
                    for (int64_t w = win.w0; w < win.w1; ++w) gx[h * g.in_w + w] += share;
                }
            }
        }
    }
}

template <class T>
void adaptive_avg_typed(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
    const int64_t work = std::max<int64_t>(1, in_plane / std::max<int64_t>(out_plane, 1));
#pragma omp parallel for schedule(static) if (worth_threads(g, work))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = px + p * in_plane;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t h0 = adaptive_start(oh, g.in_h, g.out_h), h1 = adaptive_end(oh, g.in_h, g.out_h);
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const int64_t w0 = adaptive_start(ow, g.in_w, g.out_w), w1 = adaptive_end(ow, g.in_w, g.out_w);
                T total = T(0);
                for (int64_t h = h0; h < h1; ++h) {
                    for (int64_t w = w0; w < w1; ++w) total += plane[h * g.in_w + w];
                }
                py[p * out_plane + oh * g.out_w + ow] = total / T((h1 - h0) * (w1 - w0));
            }
        }
    }
}

template <class T>
void adaptive_avg_grad_typed(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    const T* pgy = grad_y.data<T>();
    T* pgx = grad_x.data<T>();
    const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
    const int64_t work = std::max<int64_t>(1, in_plane / std::max<int64_t>(out_plane, 1));
#pragma omp parallel for schedule(static) if (worth_threads(g, work))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* gx = pgx + p * in_plane;
        std::fill(gx, gx + in_plane, T(0));
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t h0 = adaptive_start(oh, g.in_h, g.out_h), h1 = adaptive_end(oh, g.in_h, g.out_h);
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
                const int64_t w0 = adaptive_start(ow, g.in_w, g.out_w), w1 = adaptive_end(ow, g.in_w, g.out_w);
                const T share = pgy[p * out_plane + oh * g.out_w + ow] / T((h1 - h0) * (w1 - w0));
                for (int64_t h = h0; h < h1; ++h) {
                    for (int64_t w = w0; w < w1; ++w) gx[h * g.in_w + w] += share;
                }
            }
        }
    }
}

}  // namespace

void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2dGeometry& g) {
    dispatch_floating(x.dtype(), "max_pool2d",
                      [&](auto tag) { max_pool_typed<typename decltype(tag)::type>(y, indices, x, g); });
}

void max_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& indices, const Pool2dGeometry& g) {
    dispatch_floating(grad_y.dtype(), "max_pool2d",
                      [&](auto tag) { max_pool_grad_typed<typename decltype(tag)::type>(grad_x, grad_y, indices, g); });
}

void avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    dispatch_floating(x.dtype(), "avg_pool2d",
                      [&](auto tag) { avg_pool_typed<typename decltype(tag)::type>(y, x, g); });
}

void avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    dispatch_floating(grad_y.dtype(), "avg_pool2d",
                      [&](auto tag) { avg_pool_grad_typed<typename decltype(tag)::type>(grad_x, grad_y, g); });
}

void adaptive_avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d",
                      [&](auto tag) { adaptive_avg_typed<typename decltype(tag)::type>(y, x, g); });
}

void adaptive_avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    dispatch_floating(grad_y.dtype(), "adaptive_avg_pool2d",
                      [&](auto tag) { adaptive_avg_grad_typed<typename decltype(tag)::type>(grad_x, grad_y, g); });
}

}  // namespace wsol::cpu
