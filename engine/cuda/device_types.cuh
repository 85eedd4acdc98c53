// Device-side element types: the C++ type a kernel uses for each DType, value conversion between
// them, and the type arithmetic is done in (16-bit floats compute in float32, as PyTorch does).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "engine/dtype.h"
#include "engine/error.h"

namespace wsol::cuda {

template <class T>
struct Tag {
    using type = T;
};

// Calls f(Tag<T>{}) with the device type of `dtype` (__nv_bfloat16 and __half for the 16-bit floats).
template <class F>
void dispatch_device(DType dtype, F&& f) {
    switch (dtype) {
        case kFloat32: f(Tag<float>{}); return;
        case kFloat64: f(Tag<double>{}); return;
        case kBFloat16: f(Tag<__nv_bfloat16>{}); return;
        case kFloat16: f(Tag<__half>{}); return;
        case kInt32: f(Tag<int32_t>{}); return;
        case kInt64: f(Tag<int64_t>{}); return;
        case kUInt8: f(Tag<uint8_t>{}); return;
        case kBool: f(Tag<bool>{}); return;
    }
    WSOL_FAIL("CUDA: unknown dtype");
}

template <class T>
inline constexpr bool is_half_type = std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>;
template <class T>
inline constexpr bool is_float_type = std::is_floating_point_v<T> || is_half_type<T>;

// Value conversion: 16-bit floats go through float32 with round-to-nearest-even, bool is "!= 0",
// everything else is static_cast (the same rules as wsol::convert on the host).
template <class To, class From>
__host__ __device__ __forceinline__ To device_convert(From v) {
    if constexpr (std::is_same_v<To, From>) {
        return v;
    } else if constexpr (std::is_same_v<From, __nv_bfloat16>) {
        return device_convert<To>(__bfloat162float(v));
    } else if constexpr (std::is_same_v<From, __half>) {
        return device_convert<To>(__half2float(v));
    } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
        return __float2bfloat16_rn(static_cast<float>(v));
    } else if constexpr (std::is_same_v<To, __half>) {
        return __float2half_rn(static_cast<float>(v));
    } else if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else {
        return static_cast<To>(v);
    }
}

// The type arithmetic on T is done in.
template <class T>
using compute_t = std::conditional_t<is_half_type<T>, float, T>;

template <class T>
__device__ __forceinline__ compute_t<T> to_compute(T v) {
    return device_convert<compute_t<T>>(v);
}

}  // namespace wsol::cuda
