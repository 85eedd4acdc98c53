// CUDA reductions (ops/cuda/reduce.h).
//
// The input's axes split into kept ones (they index the output) and reduced ones, each turned
// into an offset calculator (engine/cuda/loops.cuh) so any strided layout works. Two layouts:
//   rows    - the reduced axes are innermost (softmax-like sums, mean over tokens): a team of
//             threads (a warp, or the whole block when the rows are long and few) walks each
//             output's elements side by side, which reads memory contiguously, and combines with
//             warp shuffles;
//   columns - the innermost axis is kept (bias gradients: (rows, C) -> (C)): the 32 threads of a
//             warp take 32 neighbouring outputs, so each load instruction reads one contiguous
//             line, and 8 warps split the rows.
// When the outputs are too few to fill the GPU, the reduction is also split over blockIdx.y; each
// split writes a partial result and a second small kernel combines them in a fixed order, so the
// result never depends on timing (no atomics).
#include "ops/cuda/reduce.h"

#include <algorithm>
#include <limits>

#include "engine/cuda/loops.cuh"

namespace wsol::cuda {

namespace {

// float32/bf16 -> float, float64 -> double, integers -> int64.
template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, std::conditional_t<is_float_type<T>, float, int64_t>>;

template <class Acc>
DType acc_dtype() {
    if constexpr (std::is_same_v<Acc, float>) return kFloat32;
    else if constexpr (std::is_same_v<Acc, double>) return kFloat64;
    else return kInt64;
}

// The reduction's binary operation; max/min propagate NaN.
template <class Acc>
struct Combine {
    ReduceOp op;
    __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
        if (op == ReduceOp::Sum) return a + b;
        if constexpr (std::is_floating_point_v<Acc>) {
            if (a != a) return a;
            if (b != b) return b;
        }
        if (op == ReduceOp::Max) return b > a ? b : a;
        return b < a ? b : a;
    }
};

template <class Acc>
Acc identity(ReduceOp op) {
    if (op == ReduceOp::Sum) return Acc(0);
    if constexpr (std::is_floating_point_v<Acc>) {
        return op == ReduceOp::Max ? -std::numeric_limits<Acc>::infinity() : std::numeric_limits<Acc>::infinity();
    } else {
        return op == ReduceOp::Max ? std::numeric_limits<Acc>::lowest() : std::numeric_limits<Acc>::max();
    }
}

template <class Acc>
__device__ __forceinline__ Acc warp_combine(Acc v, Combine<Acc> c) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) v = c(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

template <class T>
struct Constant {
    T value;
    __device__ T operator()() const { return value; }
};

struct Geometry {
    OffsetCalculator<1> kept;  // output index -> input offset
    OffsetCalculator<1> red;   // reduction index -> input offset (from the output's base)
    uint32_t n_out = 0, n_red = 0;
    bool red_contiguous = false;  // the reduced elements of one output are one run of stride 1
};

constexpr int kColumnRows = 8;  // warps per block in the column layout

template <class T, class Acc>
__device__ __forceinline__ void write_result(T* out, Acc* partial, uint32_t n_out, uint32_t o, Acc acc) {
    if (gridDim.y == 1) {
        out[o] = device_convert<T>(acc);
    } else {
        partial[size_t(blockIdx.y) * n_out + o] = acc;
    }
}

// Rows: teams of `team` threads (32, or blockDim.x) per output; split blockIdx.y covers the
// reduction indices [blockIdx.y * chunk, (blockIdx.y + 1) * chunk).
template <class T, class Acc>
__global__ void reduce_rows_kernel(const T* in, T* out, Acc* partial, Geometry g, Combine<Acc> c, Acc init, int team,
                                   uint32_t chunk) {
    const int lane = threadIdx.x % team;
    const uint32_t o = blockIdx.x * (blockDim.x / team) + threadIdx.x / team;
    const uint32_t r_begin = blockIdx.y * chunk;
    const uint32_t r_end = ::min(g.n_red, r_begin + chunk);
    Acc acc = init;
    if (o < g.n_out) {
        int64_t base[1];
        g.kept.get(o, base);
        const T* p = in + base[0];
        if (g.red_contiguous) {
            // Four independent accumulators keep four loads in flight per thread.
            Acc a1 = init, a2 = init, a3 = init;
            uint32_t r = r_begin + lane;
            for (; r + 3 * team < r_end; r += 4 * team) {
                acc = c(acc, Acc(to_compute(p[r])));
                a1 = c(a1, Acc(to_compute(p[r + team])));
                a2 = c(a2, Acc(to_compute(p[r + 2 * team])));
                a3 = c(a3, Acc(to_compute(p[r + 3 * team])));
            }
            for (; r < r_end; r += team) acc = c(acc, Acc(to_compute(p[r])));
            acc = c(c(acc, a1), c(a2, a3));
        } else {
            for (uint32_t r = r_begin + lane; r < r_end; r += team) {
                int64_t off[1];
                g.red.get(r, off);
                acc = c(acc, Acc(to_compute(p[off[0]])));
            }
        }
    }
    acc = warp_combine(acc, c);
    if (team > 32) {  // the whole block is one team: combine its warps
        __shared__ Acc warp_results[32];
        const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
        if (threadIdx.x % 32 == 0) warp_results[warp] = acc;
        __syncthreads();
        if (warp == 0) {
            acc = threadIdx.x < warps ? warp_results[threadIdx.x] : init;
            acc = warp_combine(acc, c);
        }
        if (threadIdx.x != 0) return;
    } else if (lane != 0) {
        return;
    }
    if (o < g.n_out) write_result(out, partial, g.n_out, o, acc);
}

// Columns: blockDim (32, kColumnRows); x picks the output, y (and blockIdx.y) the reduction rows.
template <class T, class Acc>
__global__ void reduce_columns_kernel(const T* in, T* out, Acc* partial, Geometry g, Combine<Acc> c, Acc init) {
    const uint32_t o = blockIdx.x * 32 + threadIdx.x;
    Acc acc = init;
    if (o < g.n_out) {
        int64_t base[1];
        g.kept.get(o, base);
        for (uint32_t r = blockIdx.y * kColumnRows + threadIdx.y; r < g.n_red; r += gridDim.y * kColumnRows) {
            int64_t off[1];
            g.red.get(r, off);
            acc = c(acc, Acc(to_compute(in[base[0] + off[0]])));
        }
    }
    __shared__ Acc tile[kColumnRows][33];
    tile[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y != 0 || o >= g.n_out) return;
    for (int y = 1; y < kColumnRows; ++y) acc = c(acc, tile[y][threadIdx.x]);
    write_result(out, partial, g.n_out, o, acc);
}

// Combines the per-split partial results, split 0 first.
template <class T, class Acc>
__global__ void reduce_partials_kernel(const Acc* partial, T* out, uint32_t n_out, uint32_t splits, Combine<Acc> c,
                                       Acc init) {
    for (uint32_t o = blockIdx.x * blockDim.x + threadIdx.x; o < n_out; o += gridDim.x * blockDim.x) {
        Acc acc = init;
        for (uint32_t s = 0; s < splits; ++s) acc = c(acc, partial[size_t(s) * n_out + o]);
        out[o] = device_convert<T>(acc);
    }
}

// A view of x with only the listed axes (a geometry, for building an offset calculator).
Tensor axes_view(const Tensor& x, const std::vector<int64_t>& axes) {
    Shape shape;
    Strides strides;
    for (int64_t a : axes) {
        shape.push_back(x.shape()[size_t(a)]);
        strides.push_back(x.strides()[size_t(a)]);
    }
    return x.as_strided(shape, strides, x.offset());
}

// Stride of the innermost axis of size > 1 among `axes`, or 0 when there is none.
int64_t innermost_stride(const Tensor& x, const std::vector<int64_t>& axes) {
    int64_t best = 0;
    bool found = false;
    for (int64_t a : axes) {
        if (x.shape()[size_t(a)] == 1) continue;
        const int64_t s = std::abs(x.strides()[size_t(a)]);
        if (!found || s < best) best = s;
        found = true;
    }
    return best;
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes) {
    using Acc = acc_t<T>;
    const Combine<Acc> combine{op};
    const Acc init = identity<Acc>(op);
    const int device = x.device().index;
    if (out.numel() == 0) return;
    if (x.numel() == 0) {  // empty reduction: the identity (max/min of nothing is refused upstream)
        launch_nullary<T>("reduce", out, Constant<T>{device_convert<T>(init)});
        return;
    }
    std::vector<int64_t> kept_axes, red_axes;
    for (int64_t d = 0; d < x.dim(); ++d) {
        (std::find(axes.begin(), axes.end(), d) != axes.end() ? red_axes : kept_axes).push_back(d);
    }
    const Tensor kept = axes_view(x, kept_axes), red = axes_view(x, red_axes);
    const int64_t n_out = kept.numel(), n_red = red.numel();
    WSOL_CHECK(n_out < INT32_MAX && n_red < INT32_MAX, "reduce on CUDA: ", shape_str(x.shape()), " has more than 2^31 "
               "outputs or reduced elements per output");
    Geometry g;
    g.kept = make_offset_calculator<1>("reduce", kept.shape(), {&kept});
    g.red = make_offset_calculator<1>("reduce", red.shape(), {&red});
    g.n_out = uint32_t(n_out);
    g.n_red = uint32_t(n_red);
    g.red_contiguous = red.is_contiguous();

    set_device(device);
    cudaStream_t stream = current_stream(device);
    const int sms = device_info(device).multiprocessors;
    const int64_t target_blocks = int64_t(sms) * 8;
    const T* in = static_cast<const T*>(x.raw_data());
    T* o = static_cast<T*>(out.raw_data());
    const bool rows = kept_axes.empty() || innermost_stride(x, kept_axes) == 0 ||
                      (n_red > 1 && innermost_stride(x, red_axes) < innermost_stride(x, kept_axes));

    int64_t blocks_x = 0, splits = 1, team = 32;
    if (rows) {
        if (n_red > 2048 && n_out < int64_t(sms) * 64) {
            team = kBlockThreads;  // long rows, few of them: a block per row, maybe split too
            blocks_x = n_out;
            splits = std::clamp<int64_t>(target_blocks / n_out, 1, (n_red + 4095) / 4096);
        } else {
            blocks_x = (n_out + kBlockThreads / 32 - 1) / (kBlockThreads / 32);
        }
    } else {
        blocks_x = (n_out + 31) / 32;
        splits = std::clamp<int64_t>(target_blocks / blocks_x, 1, (n_red + 127) / 128);
    }
    Tensor partial;
    Acc* p = nullptr;
    if (splits > 1) {
        partial = Tensor::empty({splits, n_out}, acc_dtype<Acc>(), x.device());
        p = static_cast<Acc*>(partial.raw_data());
    }
    const dim3 grid{unsigned(blocks_x), unsigned(splits)};
    if (rows) {
        const uint32_t chunk = uint32_t((n_red + splits - 1) / splits);
        reduce_rows_kernel<T, Acc><<<grid, kBlockThreads, 0, stream>>>(in, o, p, g, combine, init, int(team), chunk);
    } else {
        reduce_columns_kernel<T, Acc><<<grid, dim3(32, kColumnRows), 0, stream>>>(in, o, p, g, combine, init);
    }
    WSOL_CUDA_CHECK_LAUNCH();
    if (splits > 1) {
        reduce_partials_kernel<T, Acc><<<grid_size(n_out, kBlockThreads, device), kBlockThreads, 0, stream>>>(
            p, o, uint32_t(n_out), uint32_t(splits), combine, init);
        WSOL_CUDA_CHECK_LAUNCH();
    }
}

template <class F>
void dispatch_reducible(DType dtype, const char* name, F&& f) {
    switch (dtype) {
        case kFloat32: return f(Tag<float>{});
        case kFloat64: return f(Tag<double>{});
        case kBFloat16: return f(Tag<__nv_bfloat16>{});
        case kInt32: return f(Tag<int32_t>{});
        case kInt64: return f(Tag<int64_t>{});
        case kUInt8: return f(Tag<uint8_t>{});
        default: break;
    }
    WSOL_FAIL(name, " on CUDA: dtype ", dtype_name(dtype),
              " is not supported (float32, float64, bfloat16, int32, int64, uint8 are)");
}

const char* reduce_name(ReduceOp op) { return op == ReduceOp::Sum ? "sum" : (op == ReduceOp::Max ? "amax" : "amin"); }

}  // namespace

void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes) {
    dispatch_reducible(x.dtype(), reduce_name(op), [&](auto tag) {
        reduce_typed<typename decltype(tag)::type>(op, out, x, axes);
    });
}

}  // namespace wsol::cuda
