// Math functions for device code, one name for float and double (CUDA's float versions carry an
// 'f' suffix), and the GELU formulas shared by the elementwise kernels. The formulas are written
// exactly as in ops/cpu/elementwise.cpp, so CPU and GPU differ only by the rounding of the library
// functions (a few ulp).
#pragma once

#include <type_traits>

namespace wsol::cuda::dmath {

template <class T>
__device__ __forceinline__ T exp(T x) {
    if constexpr (std::is_same_v<T, float>) return ::expf(x); else return ::exp(x);
}
template <class T>
__device__ __forceinline__ T log(T x) {
    if constexpr (std::is_same_v<T, float>) return ::logf(x); else return ::log(x);
}
template <class T>
__device__ __forceinline__ T sqrt(T x) {
    if constexpr (std::is_same_v<T, float>) return ::sqrtf(x); else return ::sqrt(x);
}
template <class T>
__device__ __forceinline__ T tanh(T x) {
    if constexpr (std::is_same_v<T, float>) return ::tanhf(x); else return ::tanh(x);
}
template <class T>
__device__ __forceinline__ T erf(T x) {
    if constexpr (std::is_same_v<T, float>) return ::erff(x); else return ::erf(x);
}
template <class T>
__device__ __forceinline__ T pow(T x, T y) {
    if constexpr (std::is_same_v<T, float>) return ::powf(x, y); else return ::pow(x, y);
}
template <class T>
__device__ __forceinline__ T fabs(T x) {
    if constexpr (std::is_same_v<T, float>) return ::fabsf(x); else return ::fabs(x);
}

inline constexpr double kSqrtHalf = 0.70710678118654752440;     // 1/sqrt(2)
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/sqrt(2 pi)
inline constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2/pi)
inline constexpr double kGeluCoeff = 0.044715;

// GELU, exact: 0.5 x (1 + erf(x / sqrt 2)).
template <class T>
__device__ __forceinline__ T gelu_erf(T x) {
    return T(0.5) * x * (T(1) + erf(x * T(kSqrtHalf)));
}
template <class T>
__device__ __forceinline__ T gelu_erf_grad(T x) {
    return T(0.5) * (T(1) + erf(x * T(kSqrtHalf))) + x * T(kInvSqrt2Pi) * exp(T(-0.5) * x * x);
}
// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <class T>
__device__ __forceinline__ T gelu_tanh(T x) {
    return T(0.5) * x * (T(1) + tanh(T(kSqrt2OverPi) * (x + T(kGeluCoeff) * x * x * x)));
}
template <class T>
__device__ __forceinline__ T gelu_tanh_grad(T x) {
    const T t = tanh(T(kSqrt2OverPi) * (x + T(kGeluCoeff) * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCoeff) * x * x);
}

}  // namespace wsol::cuda::dmath
