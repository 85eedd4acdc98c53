// Helpers shared by the CUDA kernels of the op families (softmax, norms, losses, pooling, ...):
// the dtype dispatch of the floating kernels, warp and block reductions with a fixed combination
// order, and small launch utilities.
//
// Determinism: every reduction here combines values in an order fixed by the thread layout alone
// (shuffles by lane distance, then shared memory by warp index), never by timing, and no kernel of
// the families uses floating-point atomics. A result is therefore the same bits from run to run.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/cuda/device_types.cuh"
#include "engine/tensor.h"

namespace wsol::cuda {

// Calls f(Tag<T>{}) for float32, float64 and bfloat16 (device types float, double, __nv_bfloat16);
// anything else is an error naming the op and the dtype.
template <class F>
void dispatch_floating_device(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kFloat32: f(Tag<float>{}); return;
        case kFloat64: f(Tag<double>{}); return;
        case kBFloat16: f(Tag<__nv_bfloat16>{}); return;
        default:
            WSOL_FAIL(op, " on CUDA: dtype ", dtype_name(dtype), " is not supported (float32, float64, bfloat16 are)");
    }
}

// The accumulation type of a floating element type: double for double, float otherwise.
template <class T>
using acc_type = std::conditional_t<std::is_same_v<T, double>, double, float>;

// The DType kernels store per-row statistics in (mean, rstd, lse): float32 for bfloat16 inputs.
inline DType stats_dtype_of(DType dtype) { return dtype == kBFloat16 || dtype == kFloat16 ? kFloat32 : dtype; }

template <class T>
T* ptr(const Tensor& t) {
    return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// Makes `device` current and returns its stream.
inline cudaStream_t prepare(const Tensor& t) {
    const int device = t.device().index;
    set_device(device);
    return current_stream(device);
}

inline unsigned blocks_for(int64_t items, int threads) {
    return unsigned(std::max<int64_t>(1, (items + threads - 1) / threads));
}

// ---- reductions with a fixed order ------------------------------------------------------------

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <class A>
__device__ __forceinline__ A warp_max(A v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
        const A o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = o > v ? o : v;  // a NaN in v stays; a NaN arriving in o is dropped (softmax inputs)
    }
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `scratch` holds 32 values; the call ends with a barrier so scratch can be reused.
template <class A>
__device__ __forceinline__ A block_sum(A v, A* scratch) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    A total = lane < warps ? scratch[lane] : A(0);
    total = warp_sum(total);
    __syncthreads();
    return total;
}

template <class A>
__device__ __forceinline__ A block_max(A v, A* scratch, A lowest) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    A total = lane < warps ? scratch[lane] : lowest;
    total = warp_max(total);
    __syncthreads();
    return total;
}

// -infinity and +infinity in a device function (std::numeric_limits is host-only without
// --expt-relaxed-constexpr).
template <class A>
__host__ __device__ __forceinline__ A neg_infinity() {
    return A(-INFINITY);
}
template <class A>
__host__ __device__ __forceinline__ A pos_infinity() {
    return A(INFINITY);
}

// exp in the accumulation type.
__device__ __forceinline__ float exp_acc(float v) { return ::expf(v); }
__device__ __forceinline__ double exp_acc(double v) { return ::exp(v); }
__device__ __forceinline__ float log_acc(float v) { return ::logf(v); }
__device__ __forceinline__ double log_acc(double v) { return ::log(v); }
__device__ __forceinline__ float sqrt_acc(float v) { return ::sqrtf(v); }
__device__ __forceinline__ double sqrt_acc(double v) { return ::sqrt(v); }

}  // namespace wsol::cuda
