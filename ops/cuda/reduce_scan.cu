// CUDA arg_reduce (max/min with index along one axis) and cumsum (ops/cuda/reduce.h).
//
// Both work on "lines": the elements along `axis` for one position of the other axes. When the
// axis has stride 1 a warp takes a line (its 32 lanes read 32 neighbouring elements); otherwise a
// thread takes a line, and neighbouring threads read neighbouring lines.
#include <cstdint>

#include "engine/cuda/loops.cuh"
#include "ops/cuda/reduce.h"

namespace wsol::cuda {

namespace {

constexpr int kWarpsPerBlock = kBlockThreads / 32;

// Whether candidate (v, i) beats the current best (bv, bi) for an argmax (is_max) or argmin:
// the first NaN wins over everything; among equal values the smaller index wins. bi < 0 means
// "no element yet".
template <class C>
__device__ __forceinline__ bool arg_better(C v, int64_t i, C bv, int64_t bi, bool is_max) {
    if (i < 0) return false;
    if (bi < 0) return true;
    if constexpr (std::is_floating_point_v<C>) {
        const bool v_nan = v != v, b_nan = bv != bv;
        if (b_nan) return v_nan && i < bi;
        if (v_nan) return true;
    }
    if (v == bv) return i < bi;
    return is_max ? v > bv : v < bv;
}

template <class T>
__global__ void arg_reduce_warp_kernel(const T* in, T* values, int64_t* indices, OffsetCalculator<1> lines,
                                       uint32_t n_lines, int64_t n, bool is_max) {
    using C = compute_t<T>;
    const int lane = threadIdx.x % 32;
    const uint32_t line = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    if (line >= n_lines) return;  // the whole warp leaves together
    int64_t base[1];
    lines.get(line, base);
    const T* p = in + base[0];
    C best = C(0);
    int64_t best_index = -1;
    for (int64_t j = lane; j < n; j += 32) {
        const C v = to_compute(p[j]);
        if (arg_better(v, j, best, best_index, is_max)) {
            best = v;
            best_index = j;
        }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
        const C v = __shfl_xor_sync(0xffffffffu, best, offset);
        const int64_t i = __shfl_xor_sync(0xffffffffu, best_index, offset);
        if (arg_better(v, i, best, best_index, is_max)) {
            best = v;
            best_index = i;
        }
    }
    if (lane == 0) {
        values[line] = device_convert<T>(best);
        indices[line] = best_index;
    }
}

template <class T>
__global__ void arg_reduce_thread_kernel(const T* in, T* values, int64_t* indices, OffsetCalculator<1> lines,
                                         uint32_t n_lines, int64_t n, int64_t step, bool is_max) {
    using C = compute_t<T>;
    for (uint32_t line = blockIdx.x * blockDim.x + threadIdx.x; line < n_lines; line += gridDim.x * blockDim.x) {
        int64_t base[1];
        lines.get(line, base);
        const T* p = in + base[0];
        C best = to_compute(p[0]);
        int64_t best_index = 0;
        for (int64_t j = 1; j < n; ++j) {
            const C v = to_compute(p[j * step]);
            if (arg_better(v, j, best, best_index, is_max)) {
                best = v;
                best_index = j;
            }
        }
        values[line] = device_convert<T>(best);
        indices[line] = best_index;
    }
}

template <class T>
using scan_acc_t = std::conditional_t<std::is_same_v<T, double>, double, std::conditional_t<is_float_type<T>, float, int64_t>>;

// One warp per line: 32 elements at a time, an inclusive shuffle scan plus the running carry.
template <class T>
__global__ void cumsum_warp_kernel(const T* in, T* out, OffsetCalculator<2> lines, uint32_t n_lines, int64_t n,
                                   int64_t out_step, bool reverse) {
    using Acc = scan_acc_t<T>;
    const int lane = threadIdx.x % 32;
    const uint32_t line = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    if (line >= n_lines) return;
    int64_t base[2];
    lines.get(line, base);
    T* q = out + base[0];
    const T* p = in + base[1];
    Acc carry = Acc(0);
    for (int64_t start = 0; start < n; start += 32) {
        const int64_t k = start + lane;
        const int64_t j = reverse ? n - 1 - k : k;
        Acc v = k < n ? Acc(to_compute(p[j])) : Acc(0);
#pragma unroll
        for (int offset = 1; offset < 32; offset *= 2) {
            const Acc t = __shfl_up_sync(0xffffffffu, v, offset);
            if (lane >= offset) v += t;
        }
        v += carry;
        if (k < n) q[j * out_step] = device_convert<T>(v);
        carry = __shfl_sync(0xffffffffu, v, 31);
    }
}

template <class T>
__global__ void cumsum_thread_kernel(const T* in, T* out, OffsetCalculator<2> lines, uint32_t n_lines, int64_t n,
                                     int64_t in_step, int64_t out_step, bool reverse) {
    using Acc = scan_acc_t<T>;
    for (uint32_t line = blockIdx.x * blockDim.x + threadIdx.x; line < n_lines; line += gridDim.x * blockDim.x) {
        int64_t base[2];
        lines.get(line, base);
        T* q = out + base[0];
        const T* p = in + base[1];
        Acc acc = Acc(0);
        for (int64_t k = 0; k < n; ++k) {
            const int64_t j = reverse ? n - 1 - k : k;
            acc += Acc(to_compute(p[j * in_step]));
            q[j * out_step] = device_convert<T>(acc);
        }
    }
}

// x without `axis` (a geometry for the offset calculator of the lines).
Tensor drop_axis(const Tensor& x, int64_t axis) {
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape.erase(shape.begin() + axis);
    strides.erase(strides.begin() + axis);
    return x.as_strided(shape, strides, x.offset());
}

template <class F>
void dispatch_scannable(DType dtype, const char* name, F&& f) {
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

}  // namespace

void arg_reduce(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis) {
    const char* name = op == ReduceOp::Max ? "max" : "min";
    WSOL_CHECK(op != ReduceOp::Sum, "arg_reduce: Sum has no index");
    const int64_t n = x.shape()[size_t(axis)];
    const int64_t step = x.strides()[size_t(axis)];
    const int64_t n_lines = values.numel();
    if (n_lines == 0) return;
    WSOL_CHECK(n > 0, name, ": reduction over an empty axis");
    WSOL_CHECK(n_lines < INT32_MAX, name, " on CUDA: more than 2^31 outputs");
    const Tensor others = drop_axis(x, axis);
    const OffsetCalculator<1> lines = make_offset_calculator<1>(name, others.shape(), {&others});
    const int device = x.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    dispatch_scannable(x.dtype(), name, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* in = static_cast<const T*>(x.raw_data());
        T* v = static_cast<T*>(values.raw_data());
        int64_t* idx = static_cast<int64_t*>(indices.raw_data());
        if (step == 1 && n >= 32) {
            const auto blocks = unsigned((n_lines + kWarpsPerBlock - 1) / kWarpsPerBlock);
            arg_reduce_warp_kernel<T><<<blocks, kBlockThreads, 0, stream>>>(in, v, idx, lines, uint32_t(n_lines), n,
                                                                            op == ReduceOp::Max);
        } else {
            arg_reduce_thread_kernel<T><<<grid_size(n_lines, kBlockThreads, device), kBlockThreads, 0, stream>>>(
                in, v, idx, lines, uint32_t(n_lines), n, step, op == ReduceOp::Max);
        }
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void cumsum(const Tensor& out, const Tensor& x, int64_t axis, bool reverse) {
    const int64_t n = x.shape()[size_t(axis)];
    if (x.numel() == 0) return;
    const int64_t n_lines = x.numel() / n;
    WSOL_CHECK(n_lines < INT32_MAX, "cumsum on CUDA: more than 2^31 lines");
    const Tensor out_lines = drop_axis(out, axis), in_lines = drop_axis(x, axis);
    const OffsetCalculator<2> lines = make_offset_calculator<2>("cumsum", out_lines.shape(), {&out_lines, &in_lines});
    const int64_t in_step = x.strides()[size_t(axis)], out_step = out.strides()[size_t(axis)];
    const int device = x.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    dispatch_scannable(x.dtype(), "cumsum", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* in = static_cast<const T*>(x.raw_data());
        T* o = static_cast<T*>(out.raw_data());
        if (in_step == 1 && n >= 32) {
            const auto blocks = unsigned((n_lines + kWarpsPerBlock - 1) / kWarpsPerBlock);
            cumsum_warp_kernel<T><<<blocks, kBlockThreads, 0, stream>>>(in, o, lines, uint32_t(n_lines), n, out_step,
                                                                        reverse);
        } else {
            cumsum_thread_kernel<T><<<grid_size(n_lines, kBlockThreads, device), kBlockThreads, 0, stream>>>(
                in, o, lines, uint32_t(n_lines), n, in_step, out_step, reverse);
        }
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
