// Turning a run-time dtype into a compile-time C++ type.
//
//   dispatch_floating(x.dtype(), "gelu", [&](auto tag) {
//       using T = typename decltype(tag)::type;   // float or double
//       gelu_kernel<T>(...);
//   });
//
// Each helper lists the dtypes a kernel family supports; any other dtype is a wsol::Error naming
// the op and the dtype (never a silent conversion).
#pragma once

#include <cstdint>

#include "engine/dtype.h"
#include "engine/error.h"

namespace wsol {

template <class T>
struct TypeTag {
    using type = T;
};

// float32 and float64: what CPU math kernels compute in.
template <class F>
void dispatch_floating(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kFloat32: f(TypeTag<float>{}); return;
        case kFloat64: f(TypeTag<double>{}); return;
        default: WSOL_FAIL(op, ": dtype ", dtype_name(dtype), " is not supported on the CPU (float32, float64 are)");
    }
}

// float32, float64, int32, int64, uint8: ops that make sense on integers too (add, max, index...).
template <class F>
void dispatch_numeric(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kFloat32: f(TypeTag<float>{}); return;
        case kFloat64: f(TypeTag<double>{}); return;
        case kInt32: f(TypeTag<int32_t>{}); return;
        case kInt64: f(TypeTag<int64_t>{}); return;
        case kUInt8: f(TypeTag<uint8_t>{}); return;
        default: WSOL_FAIL(op, ": dtype ", dtype_name(dtype), " is not supported on the CPU");
    }
}

// Every dtype: data movement (copy, cast, cat, gather...).
template <class F>
void dispatch_all(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kFloat32: f(TypeTag<float>{}); return;
        case kFloat64: f(TypeTag<double>{}); return;
        case kBFloat16: f(TypeTag<BFloat16>{}); return;
        case kFloat16: f(TypeTag<Float16>{}); return;
        case kInt32: f(TypeTag<int32_t>{}); return;
        case kInt64: f(TypeTag<int64_t>{}); return;
        case kUInt8: f(TypeTag<uint8_t>{}); return;
        case kBool: f(TypeTag<bool>{}); return;
    }
    WSOL_FAIL(op, ": unknown dtype");
}

// Value conversion between element types: 16-bit floats go through float32, bool is "!= 0".
template <class To, class From>
inline To convert(From value) {
    if constexpr (std::is_same_v<To, From>) {
        return value;
    } else if constexpr (std::is_same_v<From, BFloat16> || std::is_same_v<From, Float16>) {
        return convert<To>(static_cast<float>(value));
    } else if constexpr (std::is_same_v<To, BFloat16> || std::is_same_v<To, Float16>) {
        return To(static_cast<float>(value));
    } else if constexpr (std::is_same_v<To, bool>) {
        return value != From(0);
    } else {
        return static_cast<To>(value);
    }
}

}  // namespace wsol
