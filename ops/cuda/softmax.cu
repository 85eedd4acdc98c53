// CUDA softmax / log_softmax, forward and backward, as fused row kernels (ops/cuda/softmax.h).
//
// A contiguous tensor seen along `axis` is (outer, n, inner), as in ops/cpu/softmax.cpp:
//   inner == 1, n <= 1024  a warp per row: the lanes stride over the row (coalesced loads), reduce
//                          the maximum and the sum with shuffles, then write; the second and third
//                          passes over the row hit L1;
//   inner == 1, n > 1024   a block per row, the same passes with block reductions;
//   inner > 1              a thread per line (e.g. softmax over the channels of (N, C, H, W)):
//                          neighbouring threads own neighbouring lines, so every load of the loop
//                          over n is one contiguous segment across the warp.
// Stability and conventions follow the CPU: x - max(x) <= 0 before exp; a NaN never becomes the
// maximum (it propagates through exp and the sum instead); a row of all -inf gives NaN. float32
// and bfloat16 accumulate in float32 (the CPU sums in double), float64 in float64. Reductions have
// a fixed order (ops/cuda/kernel_utils.cuh), so results are reproducible bit for bit.
#include "ops/cuda/softmax.h"

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kWarpRowsThreads = 256;  // 8 rows per block in the warp layout
constexpr int kBlockRowThreads = 512;
constexpr int64_t kWarpRowMax = 1024;

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

// The reductions of one team: a warp, or the whole block.
template <bool kBlock, class A>
__device__ __forceinline__ A team_sum(A v, A* scratch) {
    if constexpr (kBlock) return block_sum(v, scratch); else return warp_sum(v);
}
template <bool kBlock, class A>
__device__ __forceinline__ A team_max(A v, A* scratch) {
    if constexpr (kBlock) return block_max(v, scratch, neg_infinity<A>()); else return warp_max(v);
}

// Row `row` and this thread's first element / step within it.
template <bool kBlock>
__device__ __forceinline__ void team_position(int64_t& row, int& lane, int& team) {
    if constexpr (kBlock) {
        row = blockIdx.x;
        lane = threadIdx.x;
        team = blockDim.x;
    } else {
        row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
        lane = threadIdx.x % 32;
        team = 32;
    }
}

template <class T, bool kBlock>
__global__ void softmax_rows_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t rows, int64_t n, bool log) {
    using A = acc_type<T>;
    __shared__ A scratch[32];
    int64_t row;
    int lane, team;
    team_position<kBlock>(row, lane, team);
    if (row >= rows) return;  // whole warps (warp layout) or never (block layout: one block per row)
    const T* xr = x + row * n;
    T* yr = y + row * n;
    A m = neg_infinity<A>();
    for (int64_t i = lane; i < n; i += team) {
        const A v = to_compute(xr[i]);
        m = v > m ? v : m;
    }
    m = team_max<kBlock>(m, scratch);
    A s = 0;
    for (int64_t i = lane; i < n; i += team) s += exp_acc(A(to_compute(xr[i])) - m);
    s = team_sum<kBlock>(s, scratch);
    if (log) {
        const A log_s = log_acc(s);
        for (int64_t i = lane; i < n; i += team) yr[i] = device_convert<T>((A(to_compute(xr[i])) - m) - log_s);
    } else {
        const A inv = A(1) / s;
        for (int64_t i = lane; i < n; i += team) yr[i] = device_convert<T>(exp_acc(A(to_compute(xr[i])) - m) * inv);
    }
}

template <class T, bool kBlock>
__global__ void softmax_backward_rows_kernel(T* __restrict__ gx, const T* __restrict__ gy, const T* __restrict__ y,
                                             int64_t rows, int64_t n, bool log) {
    using A = acc_type<T>;
    __shared__ A scratch[32];
    int64_t row;
    int lane, team;
    team_position<kBlock>(row, lane, team);
    if (row >= rows) return;
    const int64_t base = row * n;
    A s = 0;
    for (int64_t i = lane; i < n; i += team) {
        const A g = to_compute(gy[base + i]);
        s += log ? g : g * A(to_compute(y[base + i]));
    }
    s = team_sum<kBlock>(s, scratch);
    for (int64_t i = lane; i < n; i += team) {
        const A g = to_compute(gy[base + i]), v = to_compute(y[base + i]);
        gx[base + i] = device_convert<T>(log ? g - exp_acc(v) * s : v * (g - s));
    }
}

// inner > 1: thread t owns line (o, i) = (t / inner, t % inner), elements at j * inner.
template <class T>
__global__ void softmax_lines_kernel(T* __restrict__ y, const T* __restrict__ x, Geometry g, bool log) {
    using A = acc_type<T>;
    const int64_t lines = g.outer * g.inner;
    for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < lines; t += int64_t(gridDim.x) * blockDim.x) {
        const int64_t base = (t / g.inner) * g.n * g.inner + t % g.inner;
        A m = neg_infinity<A>();
        for (int64_t j = 0; j < g.n; ++j) {
            const A v = to_compute(x[base + j * g.inner]);
            m = v > m ? v : m;
        }
        A s = 0;
        for (int64_t j = 0; j < g.n; ++j) s += exp_acc(A(to_compute(x[base + j * g.inner])) - m);
        const A scale = log ? log_acc(s) : A(1) / s;
        for (int64_t j = 0; j < g.n; ++j) {
            const A d = A(to_compute(x[base + j * g.inner])) - m;
            y[base + j * g.inner] = device_convert<T>(log ? d - scale : exp_acc(d) * scale);
        }
    }
}

template <class T>
__global__ void softmax_backward_lines_kernel(T* __restrict__ gx, const T* __restrict__ gy, const T* __restrict__ y,
                                              Geometry g, bool log) {
    using A = acc_type<T>;
    const int64_t lines = g.outer * g.inner;
    for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < lines; t += int64_t(gridDim.x) * blockDim.x) {
        const int64_t base = (t / g.inner) * g.n * g.inner + t % g.inner;
        A s = 0;
        for (int64_t j = 0; j < g.n; ++j) {
            const A gv = to_compute(gy[base + j * g.inner]);
            s += log ? gv : gv * A(to_compute(y[base + j * g.inner]));
        }
        for (int64_t j = 0; j < g.n; ++j) {
            const int64_t at = base + j * g.inner;
            const A gv = to_compute(gy[at]), v = to_compute(y[at]);
            gx[at] = device_convert<T>(log ? gv - exp_acc(v) * s : v * (gv - s));
        }
    }
}

// Launches the layout that fits; `a` is x (forward) or y (backward), `b` grad_y or null.
template <class T>
void launch(T* out, const T* a, const T* b, const Geometry& g, bool log, const Tensor& like) {
    cudaStream_t stream = prepare(like);
    const int device = like.device().index;
    if (g.inner == 1) {
        const int64_t rows = g.outer;
        if (g.n <= kWarpRowMax) {
            const unsigned grid = blocks_for(rows, kWarpRowsThreads / 32);
            if (b) {
                softmax_backward_rows_kernel<T, false><<<grid, kWarpRowsThreads, 0, stream>>>(out, b, a, rows, g.n, log);
            } else {
                softmax_rows_kernel<T, false><<<grid, kWarpRowsThreads, 0, stream>>>(out, a, rows, g.n, log);
            }
        } else {
            WSOL_CHECK(rows <= INT32_MAX, "softmax on CUDA: too many rows (", rows, ")");
            if (b) {
                softmax_backward_rows_kernel<T, true><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(out, b, a, rows,
                                                                                                     g.n, log);
            } else {
                softmax_rows_kernel<T, true><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(out, a, rows, g.n, log);
            }
        }
    } else {
        const int threads = 256;
        const int grid = grid_size(g.outer * g.inner, threads, device);
        if (b) {
            softmax_backward_lines_kernel<T><<<grid, threads, 0, stream>>>(out, b, a, g, log);
        } else {
            softmax_lines_kernel<T><<<grid, threads, 0, stream>>>(out, a, g, log);
        }
    }
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace

void softmax(const Tensor& y, const Tensor& x, int64_t axis, bool log) {
    const char* op = log ? "log_softmax" : "softmax";
    dispatch_floating_device(x.dtype(), op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (x.numel() == 0) return;
        launch<T>(ptr<T>(y), ptr<T>(x), nullptr, geometry_of(x.shape(), axis), log, x);
    });
}

void softmax_backward(const Tensor& grad_x, const Tensor& grad_y, const Tensor& y, int64_t axis, bool log) {
    const char* op = log ? "log_softmax backward" : "softmax backward";
    dispatch_floating_device(y.dtype(), op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (y.numel() == 0) return;
        launch<T>(ptr<T>(grad_x), ptr<T>(y), ptr<T>(grad_y), geometry_of(y.shape(), axis), log, y);
    });
}

}  // namespace wsol::cuda
