// CPU softmax / log_softmax, forward and backward, as fused row kernels.
//
// A contiguous tensor seen along `axis` is (outer, n, inner): `outer` blocks of n lines, each line
// strided by `inner`. Two layouts:
//   inner == 1 (the last axis, the usual case): each line is a contiguous row. One thread owns a
//     row and makes three passes over it (max, exp-and-sum, scale); a row of a few KiB stays in L1,
//     so memory sees one read of x and one write of y.
//   inner > 1 (e.g. softmax over channels of (N, C, H, W)): a block of up to kBlock neighbouring
//     lines is processed together, so every inner loop runs over contiguous memory and vectorises;
//     per-line max and sum live in small arrays.
// Stability: x - max(x) <= 0 before exp. A row of all -inf gives -inf - (-inf) = NaN, as PyTorch.
// Sums accumulate in double.
#include "ops/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"
#include "ops/cpu/vec_math.h"

namespace wsol::cpu {

namespace {

constexpr int64_t kBlock = 64;  // lines per block in the inner > 1 layout

struct Geometry {
    int64_t outer = 1, n = 1, inner = 1;
};

Geometry geometry_of(const Shape& shape, int64_t axis) {
    Geometry g;
    for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
        const int64_t s = shape[size_t(d)];
        if (d < axis) g.outer *= s;
        if (d == axis) g.n = s;
        if (d > axis) g.inner *= s;
    }
    return g;
}

// ---- inner == 1: one contiguous row ----------------------------------------------------------

template <class T>
void softmax_row(T* y, const T* x, int64_t n, bool log) {
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    double s = 0.0;
    if (log) {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; ++i) s += double(vec_exp(T(x[i] - m)));
        const T log_s = T(std::log(s));
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_s;
    } else {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; ++i) {
            const T e = vec_exp(T(x[i] - m));
            y[i] = e;
            s += double(e);
        }
        const T inv = T(1.0 / s);
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    }
}

template <class T>
void softmax_backward_row(T* gx, const T* gy, const T* y, int64_t n, bool log) {
    double s = 0.0;
    if (log) {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; ++i) s += double(gy[i]);
        const T sum_g = T(s);
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] - vec_exp(y[i]) * sum_g;
    } else {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < n; ++i) s += double(gy[i]) * double(y[i]);
        const T dot = T(s);
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (gy[i] - dot);
    }
}

// ---- inner > 1: a block of `len` lines, element j of line i at [j * inner + i] ---------------

template <class T>
void softmax_block(T* y, const T* x, int64_t n, int64_t inner, int64_t len, bool log) {
    T m[kBlock];
    double s[kBlock];
    std::fill(m, m + len, -std::numeric_limits<T>::infinity());
    std::fill(s, s + len, 0.0);
    for (int64_t j = 0; j < n; ++j) {
        const T* xr = x + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) m[i] = xr[i] > m[i] ? xr[i] : m[i];
    }
    for (int64_t j = 0; j < n; ++j) {
        const T* xr = x + j * inner;
        T* yr = y + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) {
            const T e = vec_exp(T(xr[i] - m[i]));
            if (!log) yr[i] = e;
            s[i] += double(e);
        }
    }
    T scale[kBlock];  // 1/sum for softmax, log(sum) for log_softmax
    for (int64_t i = 0; i < len; ++i) scale[i] = log ? T(std::log(s[i])) : T(1.0 / s[i]);
    for (int64_t j = 0; j < n; ++j) {
        const T* xr = x + j * inner;
        T* yr = y + j * inner;
        if (log) {
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) yr[i] = (xr[i] - m[i]) - scale[i];
        } else {
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) yr[i] *= scale[i];
        }
    }
}

template <class T>
void softmax_backward_block(T* gx, const T* gy, const T* y, int64_t n, int64_t inner, int64_t len, bool log) {
    double s[kBlock];
    std::fill(s, s + len, 0.0);
    for (int64_t j = 0; j < n; ++j) {
        const T* gr = gy + j * inner;
        const T* yr = y + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) s[i] += log ? double(gr[i]) : double(gr[i]) * double(yr[i]);
    }
    T t[kBlock];
    for (int64_t i = 0; i < len; ++i) t[i] = T(s[i]);
    for (int64_t j = 0; j < n; ++j) {
        const T* gr = gy + j * inner;
        const T* yr = y + j * inner;
        T* out = gx + j * inner;
        if (log) {
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) out[i] = gr[i] - vec_exp(yr[i]) * t[i];
        } else {
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) out[i] = yr[i] * (gr[i] - t[i]);
        }
    }
}

// Runs row(offset, len) over every line (inner == 1) or block of lines (inner > 1), in parallel
// when the tensor is large. `offset` is the element offset of the row/block start.
template <class F>
void for_each_line(const Geometry& g, F&& f) {
    const bool parallel = g.outer * g.n * g.inner >= 2 * kParallelGrain;
    if (g.inner == 1) {
#pragma omp parallel for schedule(static) if (parallel)
        for (int64_t r = 0; r < g.outer; ++r) f(r * g.n, int64_t(1));
        return;
    }
    const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t task = 0; task < g.outer * blocks; ++task) {
        const int64_t o = task / blocks;
        const int64_t b0 = (task % blocks) * kBlock;
        f(o * g.n * g.inner + b0, std::min(kBlock, g.inner - b0));
    }
}

}  // namespace

void softmax(const Tensor& y, const Tensor& x, int64_t axis, bool log) {
    const Geometry g = geometry_of(x.shape(), axis);
    if (x.numel() == 0) return;
    dispatch_floating(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* in = x.data<T>();
        T* out = y.data<T>();
        for_each_line(g, [&](int64_t offset, int64_t len) {
            if (g.inner == 1) {
                softmax_row(out + offset, in + offset, g.n, log);
            } else {
                softmax_block(out + offset, in + offset, g.n, g.inner, len, log);
            }
        });
    });
}

void softmax_backward(const Tensor& grad_x, const Tensor& grad_y, const Tensor& y, int64_t axis, bool log) {
    const Geometry g = geometry_of(y.shape(), axis);
    if (y.numel() == 0) return;
    dispatch_floating(y.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* gy = grad_y.data<T>();
        const T* yy = y.data<T>();
        T* gx = grad_x.data<T>();
        for_each_line(g, [&](int64_t offset, int64_t len) {
            if (g.inner == 1) {
                softmax_backward_row(gx + offset, gy + offset, yy + offset, g.n, log);
            } else {
                softmax_backward_block(gx + offset, gy + offset, yy + offset, g.n, g.inner, len, log);
            }
        });
    });
}

}  // namespace wsol::cpu
