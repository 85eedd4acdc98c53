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
// Each thread gets one contiguous range of rows/blocks; the float version of that loop is built
// for several x86 vector widths (WSOL_VECTOR_CLONES).
// Stability: x - max(x) <= 0 before exp. A row of all -inf gives -inf - (-inf) = NaN, as PyTorch.
// Row sums use blocked_sum (ops/cpu/vec_math.h): SIMD partial sums, blocks added in double.
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
WSOL_ALWAYS_INLINE void softmax_row(T* y, const T* x, int64_t n, bool log) {
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    if (log) {
        const double s = blocked_sum<T>(n, [&](int64_t i) { return vec_exp(T(x[i] - m)); });
        const T log_s = T(std::log(s));
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - log_s;
    } else {
        const double s = blocked_sum<T>(n, [&](int64_t i) { return y[i] = vec_exp(T(x[i] - m)); });
        const T inv = T(1.0 / s);
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    }
}

template <class T>
WSOL_ALWAYS_INLINE void softmax_backward_row(T* gx, const T* gy, const T* y, int64_t n, bool log) {
    if (log) {
        const T sum_g = T(blocked_sum<T>(n, [&](int64_t i) { return gy[i]; }));
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] - vec_exp(y[i]) * sum_g;
    } else {
        const T dot = T(blocked_sum<T>(n, [&](int64_t i) { return gy[i] * y[i]; }));
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) gx[i] = y[i] * (gy[i] - dot);
    }
}

// ---- inner > 1: a block of `len` lines, element j of line i at [j * inner + i] ---------------

template <class T>
WSOL_ALWAYS_INLINE void softmax_block(T* y, const T* x, int64_t n, int64_t inner, int64_t len, bool log) {
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
WSOL_ALWAYS_INLINE void softmax_backward_block(T* gx, const T* gy, const T* y, int64_t n, int64_t inner, int64_t len, bool log) {
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

// The work of one thread: tasks [begin, end) are rows (inner == 1) or blocks of up to kBlock
// lines (inner > 1). Forward when grad_y is null, backward otherwise (then `a` is y, `b` is dy).
template <class T>
WSOL_ALWAYS_INLINE void run_tasks(T* out, const T* a, const T* b, const Geometry& g, int64_t begin, int64_t end,
                                  bool log) {
    const int64_t blocks = (g.inner + kBlock - 1) / kBlock;
    for (int64_t task = begin; task < end; ++task) {
        if (g.inner == 1) {
            const int64_t offset = task * g.n;
            if (b) {
                softmax_backward_row(out + offset, b + offset, a + offset, g.n, log);
            } else {
                softmax_row(out + offset, a + offset, g.n, log);
            }
        } else {
            const int64_t o = task / blocks, b0 = (task % blocks) * kBlock;
            const int64_t offset = o * g.n * g.inner + b0, len = std::min(kBlock, g.inner - b0);
            if (b) {
                softmax_backward_block(out + offset, b + offset, a + offset, g.n, g.inner, len, log);
            } else {
                softmax_block(out + offset, a + offset, g.n, g.inner, len, log);
            }
        }
    }
}

// float: compiled for SSE2, AVX2 and AVX-512, chosen at load time (ops/cpu/vec_math.h).
WSOL_VECTOR_CLONES void run_tasks_f32(float* out, const float* a, const float* b, const Geometry& g, int64_t begin,
                                      int64_t end, bool log) {
    run_tasks(out, a, b, g, begin, end, log);
}
void dispatch_tasks(float* out, const float* a, const float* b, const Geometry& g, int64_t begin, int64_t end,
                    bool log) {
    run_tasks_f32(out, a, b, g, begin, end, log);
}
void dispatch_tasks(double* out, const double* a, const double* b, const Geometry& g, int64_t begin, int64_t end,
                    bool log) {
    run_tasks(out, a, b, g, begin, end, log);
}

// Splits the tasks into one contiguous range per thread (when the tensor is large enough).
template <class T>
void run_all(T* out, const T* a, const T* b, const Geometry& g, bool log) {
    const int64_t tasks = g.inner == 1 ? g.outer : g.outer * ((g.inner + kBlock - 1) / kBlock);
    if (g.outer * g.n * g.inner < 2 * kParallelGrain) {
        dispatch_tasks(out, a, b, g, 0, tasks, log);
        return;
    }
#pragma omp parallel
    {
        const int64_t threads = parallel_thread_count(), id = parallel_thread_id();
        dispatch_tasks(out, a, b, g, tasks * id / threads, tasks * (id + 1) / threads, log);
    }
}

}  // namespace

void softmax(const Tensor& y, const Tensor& x, int64_t axis, bool log) {
    if (x.numel() == 0) return;
    dispatch_floating(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_all<T>(y.data<T>(), x.data<T>(), nullptr, geometry_of(x.shape(), axis), log);
    });
}

void softmax_backward(const Tensor& grad_x, const Tensor& grad_y, const Tensor& y, int64_t axis, bool log) {
    if (y.numel() == 0) return;
    dispatch_floating(y.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
        using T = typename decltype(tag)::type;
        run_all<T>(grad_x.data<T>(), y.data<T>(), grad_y.data<T>(), geometry_of(y.shape(), axis), log);
    });
}

}  // namespace wsol::cpu
