#include "engine/dtype.h"

#include "engine/error.h"

namespace wsol {

size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::Float32: return 4;
        case DType::Float64: return 8;
        case DType::BFloat16: return 2;
        case DType::Float16: return 2;
        case DType::Int32: return 4;
        case DType::Int64: return 8;
        case DType::UInt8: return 1;
        case DType::Bool: return 1;
    }
    WSOL_FAIL("dtype_size: unknown dtype ", int(dtype));
}

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::BFloat16: return "bfloat16";
        case DType::Float16: return "float16";
        case DType::Int32: return "int32";
        case DType::Int64: return "int64";
        case DType::UInt8: return "uint8";
        case DType::Bool: return "bool";
    }
    return "unknown";
}

DType dtype_from_name(const std::string& name) {
    for (DType d : {kFloat32, kFloat64, kBFloat16, kFloat16, kInt32, kInt64, kUInt8, kBool}) {
        if (name == dtype_name(d)) return d;
    }
    WSOL_FAIL("unknown dtype name '", name, "'");
}

bool is_floating(DType dtype) {
    return dtype == kFloat32 || dtype == kFloat64 || dtype == kBFloat16 || dtype == kFloat16;
}

bool is_integral(DType dtype) { return !is_floating(dtype); }

// IEEE binary16 <-> binary32, round to nearest even, with subnormals, infinities and NaN.
Float16::operator float() const {
    uint32_t sign = uint32_t(bits & 0x8000u) << 16;
    uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    uint32_t out;
    if (exponent == 0x1f) {
        out = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN
    } else if (exponent != 0) {
        out = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        out = sign;  // signed zero
    } else {
        // Subnormal half: normalise into a float32 exponent.
        int shift = 0;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            ++shift;
        }
        mantissa &= 0x3ffu;
        out = sign | (uint32_t(113 - shift) << 23) | (mantissa << 13);
    }
    float value;
    std::memcpy(&value, &out, 4);
    return value;
}

uint16_t Float16::round_from_float(float value) {
    uint32_t u;
    std::memcpy(&u, &value, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u);  // NaN
    if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to or beyond infinity
    if (abs < 0x38800000u) {
        // Result is subnormal (or zero) in half: align the implicit bit and round to nearest even.
        if (abs < 0x33000000u) return uint16_t(sign);  // below half of the smallest subnormal
        uint32_t exponent = abs >> 23;
        uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent;  // value = mantissa * 2^(e-150) = k * 2^-24  =>  k = mantissa >> (126-e)
        uint32_t halfway = 1u << (shift - 1);
        uint32_t kept = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        if (rest > halfway || (rest == halfway && (kept & 1u))) ++kept;
        return uint16_t(sign | kept);
    }
    // Normal: rebias the exponent and round the 13 dropped mantissa bits.
    uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
}

}  // namespace wsol
