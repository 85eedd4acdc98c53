// Element types of a tensor, and the two 16-bit float formats as plain C++ structs.
//
// bfloat16 is the upper half of an IEEE float32 (8 exponent bits, 7 mantissa bits); float16 is IEEE
// binary16 (5 exponent bits, 10 mantissa bits). Both convert from float32 with round-to-nearest-even,
// which is what PyTorch and the CUDA intrinsics do, so a value rounds the same way on CPU and GPU.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace wsol {

enum class DType : uint8_t { Float32, Float64, BFloat16, Float16, Int32, Int64, UInt8, Bool };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kBFloat16 = DType::BFloat16;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kBool = DType::Bool;

// Bytes per element.
size_t dtype_size(DType dtype);
// "float32", "bfloat16", ... (the names PyTorch prints without the "torch." prefix).
const char* dtype_name(DType dtype);
// Parses a name as printed by dtype_name; throws wsol::Error on anything else.
DType dtype_from_name(const std::string& name);
bool is_floating(DType dtype);  // float32, float64, bfloat16, float16
bool is_integral(DType dtype);  // int32, int64, uint8, bool

struct BFloat16 {
    uint16_t bits = 0;
    BFloat16() = default;
    explicit BFloat16(float value) : bits(round_from_float(value)) {}
    explicit operator float() const {
        uint32_t wide = uint32_t(bits) << 16;
        float out;
        std::memcpy(&out, &wide, 4);
        return out;
    }
    static uint16_t round_from_float(float value) {
        uint32_t u;
        std::memcpy(&u, &value, 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
        u += 0x7fffu + ((u >> 16) & 1u);                                           // nearest even
        return uint16_t(u >> 16);
    }
};

struct Float16 {
    uint16_t bits = 0;
    Float16() = default;
    explicit Float16(float value) : bits(round_from_float(value)) {}
    explicit operator float() const;
    static uint16_t round_from_float(float value);
};

// Maps a C++ element type to its DType: dtype_of<float> == kFloat32.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = kFloat64; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = kBFloat16; };
template <> struct DTypeOf<Float16> { static constexpr DType value = kFloat16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = kInt64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = kUInt8; };
template <> struct DTypeOf<bool> { static constexpr DType value = kBool; };
template <class T> inline constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace wsol
