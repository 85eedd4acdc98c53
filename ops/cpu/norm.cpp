// CPU LayerNorm and BatchNorm kernels, forward and backward.
//
// LayerNorm works on rows: each thread owns a contiguous range of rows and, per row, computes the
// mean and variance in two passes (the row is in L1 by then, so the second pass costs no memory
// traffic and the centred sum of squares is stable), then writes y. The float row loops are built
// for several x86 vector widths (WSOL_VECTOR_CLONES, ops/cpu/vec_math.h). The backward pass is also one sweep over the rows: per row
// it forms the two sums the input gradient needs and, in the same loop, accumulates the weight
// and bias gradients into per-chunk double buffers. Chunks are a fixed split of the rows merged
// in order, so the result does not depend on the number of threads.
//
// BatchNorm works per channel on (B, C, S): the statistics of channel c run over B planes of S
// contiguous elements. Variance uses a shifted single pass, sum((x - K)^2) - sum(x - K)^2 / M with
// K the channel's first element, which is exact in exact arithmetic and stable when K is near the
// mean. Sums accumulate in double.
#include "ops/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"
#include "ops/cpu/vec_math.h"

namespace wsol::cpu {

namespace {

template <class T>
const T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mutable_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

// ---- LayerNorm ---------------------------------------------------------------------------------

struct LayerNormArgs {
    int64_t rows, n;
    double eps;
};

// Rows [begin, end) of y = (x - mean) * rstd * w + b, saving mean and rstd.
template <class T>
WSOL_ALWAYS_INLINE void layer_norm_rows(T* out, T* mu_out, T* rs_out, const T* in, const T* w, const T* b,
                                        const LayerNormArgs& a, int64_t begin, int64_t end) {
    const int64_t n = a.n;
    for (int64_t r = begin; r < end; ++r) {
        const T* xr = in + r * n;
        T* yr = out + r * n;
        // The sum runs over x - x[0]: with a large common offset (rows of 1e4 + noise) the float
        // partial sums would otherwise round away the digits that make up the mean.
        const T shift = xr[0];
        const T mu = shift + T(blocked_sum<T>(n, [&](int64_t i) { return xr[i] - shift; }) / double(n));
        const double var = blocked_sum<T>(n, [&](int64_t i) { return (xr[i] - mu) * (xr[i] - mu); }) / double(n);
        const T rs = T(1.0 / std::sqrt(var + a.eps));
        mu_out[r] = mu;
        rs_out[r] = rs;
        if (w && b) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
        } else if (w) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs * w[i];
        } else if (b) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs + b[i];
        } else {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs;
        }
    }
}

// float: compiled for several x86 vector widths, chosen at load time (ops/cpu/vec_math.h).
WSOL_VECTOR_CLONES void layer_norm_rows_f32(float* out, float* mu_out, float* rs_out, const float* in, const float* w,
                                            const float* b, const LayerNormArgs& a, int64_t begin, int64_t end) {
    layer_norm_rows(out, mu_out, rs_out, in, w, b, a, begin, end);
}
void layer_norm_rows_any(float* out, float* mu_out, float* rs_out, const float* in, const float* w, const float* b,
                         const LayerNormArgs& a, int64_t begin, int64_t end) {
    layer_norm_rows_f32(out, mu_out, rs_out, in, w, b, a, begin, end);
}
void layer_norm_rows_any(double* out, double* mu_out, double* rs_out, const double* in, const double* w,
                         const double* b, const LayerNormArgs& a, int64_t begin, int64_t end) {
    layer_norm_rows(out, mu_out, rs_out, in, w, b, a, begin, end);
}

template <class T>
void layer_norm_typed(const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x, const Tensor& weight,
                      const Tensor& bias, double eps) {
    const int64_t n = x.numel() == 0 ? 0 : x.shape().back();
    const LayerNormArgs a{n == 0 ? 0 : x.numel() / n, n, eps};
    T* out = y.data<T>();
    T* mu = mean.data<T>();
    T* rs = rstd.data<T>();
    const T* in = x.data<T>();
    const T* w = data_or_null<T>(weight);
    const T* b = data_or_null<T>(bias);
    if (a.rows * n < 2 * kParallelGrain) {
        layer_norm_rows_any(out, mu, rs, in, w, b, a, 0, a.rows);
        return;
    }
#pragma omp parallel
    {
        const int64_t threads = parallel_thread_count(), id = parallel_thread_id();
        layer_norm_rows_any(out, mu, rs, in, w, b, a, a.rows * id / threads, a.rows * (id + 1) / threads);
    }
}

// Rows [begin, end) of the backward pass: gx (when wanted) and, into the double buffers aw/ab
// (when given), the partial sums of g * xhat and g for the weight and bias gradients.
//   gx_i = rstd (gw_i - mean(gw) - xhat_i mean(gw xhat)),  gw_i = g_i w_i,  xhat_i = (x_i - mean) rstd
template <class T>
WSOL_ALWAYS_INLINE void layer_norm_backward_rows(T* gx, double* aw, double* ab, const T* g, const T* in, const T* mu,
                                                 const T* rs, const T* w, int64_t n, int64_t begin, int64_t end) {
    const double inv_n = 1.0 / double(n);
    for (int64_t r = begin; r < end; ++r) {
        const T* gr = g + r * n;
        const T* xr = in + r * n;
        const T m = mu[r], s = rs[r];
        if (gx) {
            const T mean_gw = T(inv_n * blocked_sum<T>(n, [&](int64_t i) { return w ? gr[i] * w[i] : gr[i]; }));
            const T mean_gw_xhat = T(inv_n * blocked_sum<T>(n, [&](int64_t i) {
                                         return (w ? gr[i] * w[i] : gr[i]) * ((xr[i] - m) * s);
                                     }));
            T* gxr = gx + r * n;
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                const T gw = w ? gr[i] * w[i] : gr[i];
                gxr[i] = s * (gw - mean_gw - (xr[i] - m) * s * mean_gw_xhat);
            }
        }
        if (aw) {
#pragma omp simd
            for (int64_t i = 0; i < n; ++i) {
                aw[i] += double(gr[i] * ((xr[i] - m) * s));
                ab[i] += double(gr[i]);
            }
        }
    }
}

WSOL_VECTOR_CLONES void layer_norm_backward_rows_f32(float* gx, double* aw, double* ab, const float* g,
                                                     const float* in, const float* mu, const float* rs, const float* w,
                                                     int64_t n, int64_t begin, int64_t end) {
    layer_norm_backward_rows(gx, aw, ab, g, in, mu, rs, w, n, begin, end);
}
void layer_norm_backward_rows_any(float* gx, double* aw, double* ab, const float* g, const float* in, const float* mu,
                                  const float* rs, const float* w, int64_t n, int64_t begin, int64_t end) {
    layer_norm_backward_rows_f32(gx, aw, ab, g, in, mu, rs, w, n, begin, end);
}
void layer_norm_backward_rows_any(double* gx, double* aw, double* ab, const double* g, const double* in,
                                  const double* mu, const double* rs, const double* w, int64_t n, int64_t begin,
                                  int64_t end) {
    layer_norm_backward_rows(gx, aw, ab, g, in, mu, rs, w, n, begin, end);
}

template <class T>
void layer_norm_backward_typed(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                               const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                               const Tensor& weight) {
    const int64_t n = x.numel() == 0 ? 0 : x.shape().back();
    const int64_t rows = n == 0 ? 0 : x.numel() / n;
    if (n == 0) return;
    const bool want_params = grad_weight.defined() || grad_bias.defined();
    // A fixed number of chunks (not threads), bounded so the buffers stay a few MiB; chunk sums
    // are merged in chunk order, so the result does not depend on the thread count.
    const int64_t chunks = want_params ? std::clamp<int64_t>((int64_t(1) << 18) / n, 1, 64) : 1;
    const int64_t used = std::min(chunks, std::max<int64_t>(rows, 1));
    std::vector<double> acc_w(want_params ? size_t(used * n) : 0, 0.0);
    std::vector<double> acc_b(want_params ? size_t(used * n) : 0, 0.0);
    T* gx = mutable_or_null<T>(grad_x);
    const T* g = grad_y.data<T>();
    const T* in = x.data<T>();
    const T* mu = mean.data<T>();
    const T* rs = rstd.data<T>();
    const T* w = data_or_null<T>(weight);
#pragma omp parallel for schedule(static) if (rows * n >= 2 * kParallelGrain)
    for (int64_t c = 0; c < used; ++c) {
        layer_norm_backward_rows_any(gx, want_params ? acc_w.data() + c * n : nullptr,
                                     want_params ? acc_b.data() + c * n : nullptr, g, in, mu, rs, w, n,
                                     rows * c / used, rows * (c + 1) / used);
    }
    if (!want_params) return;
    T* gw_out = mutable_or_null<T>(grad_weight);
    T* gb_out = mutable_or_null<T>(grad_bias);
    for (int64_t i = 0; i < n; ++i) {
        double sw = 0.0, sb = 0.0;
        for (int64_t c = 0; c < used; ++c) {
            sw += acc_w[size_t(c * n + i)];
            sb += acc_b[size_t(c * n + i)];
        }
        if (gw_out) gw_out[i] = T(sw);
        if (gb_out) gb_out[i] = T(sb);
    }
}

// ---- BatchNorm ---------------------------------------------------------------------------------

struct Planes {
    int64_t batch, channels, spatial;  // x: (B, C, S)
};

Planes planes_of(const Tensor& x) {
    Planes p{x.shape()[0], x.shape()[1], 1};
    for (int64_t d = 2; d < x.dim(); ++d) p.spatial *= x.shape()[size_t(d)];
    return p;
}

template <class T>
void batch_norm_stats_typed(const Tensor& mean, const Tensor& var, const Tensor& x) {
    const Planes p = planes_of(x);
    const T* in = x.data<T>();
    T* mu = mean.data<T>();
    T* vr = var.data<T>();
    const double count = double(p.batch * p.spatial);
#pragma omp parallel for schedule(dynamic, 1) if (x.numel() >= 2 * kParallelGrain)
    for (int64_t c = 0; c < p.channels; ++c) {
        const double shift = double(in[c * p.spatial]);
        double s = 0.0, ss = 0.0;
        for (int64_t b = 0; b < p.batch; ++b) {
            const T* plane = in + (b * p.channels + c) * p.spatial;
#pragma omp simd reduction(+ : s, ss)
            for (int64_t i = 0; i < p.spatial; ++i) {
                const double d = double(plane[i]) - shift;
                s += d;
                ss += d * d;
            }
        }
        const double m = s / count;
        mu[c] = T(shift + m);
        vr[c] = T(std::max(ss / count - m * m, 0.0));
    }
}

template <class T>
void batch_norm_apply_typed(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                            const Tensor& weight, const Tensor& bias) {
    const Planes p = planes_of(x);
    const T* in = x.data<T>();
    const T* mu = mean.data<T>();
    const T* rs = rstd.data<T>();
    const T* w = data_or_null<T>(weight);
    const T* bs = data_or_null<T>(bias);
    T* out = y.data<T>();
#pragma omp parallel for schedule(static) if (x.numel() >= 2 * kParallelGrain)
    for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
        const int64_t c = plane % p.channels;
        const T m = mu[c];
        const T scale = w ? rs[c] * w[c] : rs[c];
        const T shift = bs ? bs[c] : T(0);
        const T* xr = in + plane * p.spatial;
        T* yr = out + plane * p.spatial;
#pragma omp simd
        for (int64_t i = 0; i < p.spatial; ++i) yr[i] = (xr[i] - m) * scale + shift;
    }
}

template <class T>
void batch_norm_backward_typed(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                               const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                               const Tensor& weight, bool training) {
    const Planes p = planes_of(x);
    const T* g = grad_y.data<T>();
    const T* in = x.data<T>();
    const T* mu = mean.data<T>();
    const T* rs = rstd.data<T>();
    const T* w = data_or_null<T>(weight);
    T* gx = mutable_or_null<T>(grad_x);
    T* gw = mutable_or_null<T>(grad_weight);
    T* gb = mutable_or_null<T>(grad_bias);
    const double count = double(p.batch * p.spatial);
#pragma omp parallel for schedule(dynamic, 1) if (x.numel() >= 2 * kParallelGrain)
    for (int64_t c = 0; c < p.channels; ++c) {
        const T m = mu[c], s = rs[c];
        double sum_g = 0.0, sum_g_xhat = 0.0;
        if (gw || gb || training) {
            for (int64_t b = 0; b < p.batch; ++b) {
                const int64_t base = (b * p.channels + c) * p.spatial;
#pragma omp simd reduction(+ : sum_g, sum_g_xhat)
                for (int64_t i = 0; i < p.spatial; ++i) {
                    sum_g += double(g[base + i]);
                    sum_g_xhat += double(g[base + i]) * double((in[base + i] - m) * s);
                }
            }
        }
        if (gw) gw[c] = T(sum_g_xhat);
        if (gb) gb[c] = T(sum_g);
        if (!gx) continue;
        const T scale = w ? s * w[c] : s;
        const T mean_g = training ? T(sum_g / count) : T(0);
        const T mean_g_xhat = training ? T(sum_g_xhat / count) : T(0);
        for (int64_t b = 0; b < p.batch; ++b) {
            const int64_t base = (b * p.channels + c) * p.spatial;
#pragma omp simd
            for (int64_t i = 0; i < p.spatial; ++i) {
                const T xhat = (in[base + i] - m) * s;
                gx[base + i] = scale * (g[base + i] - mean_g - xhat * mean_g_xhat);
            }
        }
    }
}

}  // namespace

void layer_norm(const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x, const Tensor& weight,
                const Tensor& bias, double eps) {
    dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
        layer_norm_typed<typename decltype(tag)::type>(y, mean, rstd, x, weight, bias, eps);
    });
}

void layer_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight) {
    dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
        layer_norm_backward_typed<typename decltype(tag)::type>(grad_x, grad_weight, grad_bias, grad_y, x, mean, rstd,
                                                                weight);
    });
}

void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x) {
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
        batch_norm_stats_typed<typename decltype(tag)::type>(mean, var, x);
    });
}

void batch_norm_apply(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias) {
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
        batch_norm_apply_typed<typename decltype(tag)::type>(y, x, mean, rstd, weight, bias);
    });
}

void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training) {
    dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
        batch_norm_backward_typed<typename decltype(tag)::type>(grad_x, grad_weight, grad_bias, grad_y, x, mean, rstd,
                                                                weight, training);
    });
}

}  // namespace wsol::cpu
