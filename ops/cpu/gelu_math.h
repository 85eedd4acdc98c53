// float32 GELU and its derivative, both forms, written so that a loop over contiguous floats
// vectorises: no branches, no library calls, only + - * /, integer bit operations and selects.
// (The float64 kernels in ops/cpu/elementwise.cpp keep std::erf / std::tanh: float64 is what
// gradcheck runs in, and there accuracy matters more than speed.)
//
//   gelu(x)      = x Phi(x),            Phi the standard normal CDF          (exact form)
//   gelu_tanh(x) = x sigma(2u),         u = sqrt(2/pi) (x + 0.044715 x^3)    (tanh form;
//                                       0.5 (1 + tanh u) = sigma(2u), sigma the logistic function)
//
// Both have the shape x F(x) with F rising from 0 to 1 and F(-x) = 1 - F(x). Each function below
// first computes, from a = |x|, the small tail q = F(-a) <= 1/2 (accurate relative to itself,
// which 1 - F would not be), and then
//
//   x < 0:   gelu(x)  = x q                      gelu'(x) = d,      d = q - a F'(a)
//   x >= 0:  gelu(x)  = x - x q                  gelu'(x) = 1 - d
//
// (x F(x) = x (1 - q) for x >= 0, and F'(x) = F'(-x)). So large positive x gives x minus a tiny
// correction, and the negative tail keeps its relative accuracy instead of being 1 - 1 + tiny.
//
// Exact form. q = Phi(-a) = E(a) t S(t), with E(a) = exp(-a^2/2) (vec_exp, ops/cpu/vec_math.h),
// t = 1 / (1 + 0.352 a) in (0, 1] and S a degree-8 polynomial. Phi(-a) exp(a^2/2) is smooth and
// falls like 1/(a sqrt(2 pi)); in the variable t it is t times a function with no singularity on
// [0, 1], which a polynomial fits well (the same idea as Abramowitz & Stegun 7.1.26 and the
// Numerical Recipes erfcc, fitted here for relative rather than absolute error). The same E gives
// the density: Phi'(a) = E / sqrt(2 pi), so the gradient costs one exp, like the forward.
// The coefficients were fitted for this file with numpy (mpmath for Phi in 30 digits): a
// minimax fit of the relative error of t S(t) against Phi(-a) exp(a^2/2) on 3000 Chebyshev
// nodes of t for a in [0, 20] (Lawson's iteratively reweighted least squares), the constant 0.352
// chosen by a scan over [0.30, 0.41] (the error is smallest there: 3.8e-8 with exact
// coefficients; degree 7 reaches only 3.7e-7). The coefficients were then rounded to float one at
// a time, refitting the rest after each, so that the float values themselves keep 4.0e-8 (about
// 0.3 ulp); rounding all at once would give 7.9e-8.
// Measured (tests/ops/test_gelu_f32.cpp: float32 against a float64 std::erfc oracle, every 1e-4
// on [-10, 10] plus extremes): forward max abs error 2.4e-7, which is the rounding of the result
// itself (half an ulp of 4.9), relative error at most 9.2e-8 where |gelu| >= 1; gradient max abs
// error 2.0e-7 (about 3 ulps of 0.5). In the negative tail the relative error grows to 2.1e-6 at
// x = -9, from rounding a^2 to float inside exp(-a^2/2). Below x = -13.2, where Phi(x) < FLT_MIN,
// the result is flushed to -0.
//
// Tanh form. q = sigma(-2|u|) = e / (1 + e) with e = exp(-2|u|) <= 1 (never overflows), and
// F'(a) = 2 u'(a) sigma(2|u|) sigma(-2|u|) = 2 u' q (1 - q). Measured against a float64 oracle
// (0.5 x (1 + tanh u) written as x / (1 + exp(-2u))): forward max abs error 2.4e-7, gradient
// 1.3e-7; tail relative error up to 1.2e-5 at x = -9.2 (2|u| = 70 there, rounded to float).
//
// Special values. |x| is clamped to 20 before any arithmetic (both tails are below 1e-80 there and
// flush to 0), so x = +-inf never meets inf * 0: gelu(+inf) = +inf, gelu(-inf) = -0, gradients
// 1 and 0. NaN in gives NaN out (the clamp would otherwise turn it into 20, so it is selected back
// explicitly). Selections are done on the bit patterns as integers: a float comparison feeding ?:
// keeps GCC from vectorising under its default -ftrapping-math (see vec_exp).
//
// No fused multiply-add is written out, but GCC contracts a * b + c into one where the target has
// it (C++ is compiled with -ffp-contract=fast by default): the AVX2 and AVX-512 builds of the
// loops differ from the SSE2 build and from the scalar strided path in the last bit of some
// results. The tests check both paths against the oracle.
#pragma once

#include <bit>
#include <cstdint>

#include "ops/cpu/vec_math.h"

namespace wsol::cpu {

namespace gelu_detail {

inline constexpr float kInvSqrt2Pi = 0.398942280401432678f;  // 1/sqrt(2 pi) = Phi'(0)
inline constexpr float kSqrt2OverPi = 0.797884560802865356f; // sqrt(2/pi)
inline constexpr float kTanhCubic = 0.044715f;               // the 0.044715 x^3 of the tanh form
inline constexpr float kTailT = 0.352f;                       // t = 1 / (1 + kTailT a)
inline constexpr int32_t kClampBits = 0x41a00000;            // bit pattern of 20.0f

// The pieces shared by every function below: |x| clamped to 20, x with that magnitude, and masks
// (all ones / all zeros) for "x is negative" (sign bit set, also -0) and "x is NaN".
struct GeluArg {
    float a;          // min(|x|, 20); 20 for NaN too
    float xc;         // x clamped to [-20, 20]
    int32_t negative; // mask: sign bit of x
    int32_t nan;      // mask: x is NaN
};
WSOL_ALWAYS_INLINE GeluArg split_arg(float x) {
    const int32_t bits = std::bit_cast<int32_t>(x);
    const int32_t magnitude = bits & 0x7fffffff;
    const int32_t clamped = magnitude < kClampBits ? magnitude : kClampBits;  // integer min
    return {std::bit_cast<float>(clamped), std::bit_cast<float>(clamped | (bits & int32_t(0x80000000))),
            bits >> 31, -int32_t(magnitude > 0x7f800000)};
}

// gelu(x) from the tail q = F(-|x|): x q for x < 0, x - x q for x >= 0; NaN stays NaN.
WSOL_ALWAYS_INLINE float gelu_from_tail(float x, const GeluArg& g, float q) {
    const float h = g.xc * q;  // = x q for |x| <= 20; beyond, q is 0 and h a signed zero
    const int32_t y = select_bits(g.negative, std::bit_cast<int32_t>(h), std::bit_cast<int32_t>(x - h));
    return std::bit_cast<float>(select_bits(g.nan, std::bit_cast<int32_t>(x), y));
}

// gelu'(x) from d = q - |x| F'(|x|): d for x < 0, 1 - d for x >= 0; NaN stays NaN.
WSOL_ALWAYS_INLINE float gelu_grad_from_tail(float x, const GeluArg& g, float d) {
    const int32_t y = select_bits(g.negative, std::bit_cast<int32_t>(d), std::bit_cast<int32_t>(1.0f - d));
    return std::bit_cast<float>(select_bits(g.nan, std::bit_cast<int32_t>(x), y));
}

// Phi(-a) / exp(-a^2/2) = t S(t): returns S(t), Horner form (coefficients: see the file comment).
WSOL_ALWAYS_INLINE float normal_tail_poly(float t) {
    float s = -2.946346998e-02f;
    s = s * t + 1.435079575e-01f;
    s = s * t - 2.498597056e-01f;
    s = s * t + 1.488418877e-01f;
    s = s * t - 1.822920516e-02f;
    s = s * t + 1.034268886e-01f;
    s = s * t + 1.207376271e-01f;
    s = s * t + 1.406168491e-01f;
    s = s * t + 1.404211521e-01f;
    return s;
}

}  // namespace gelu_detail

// Exact GELU: x Phi(x).
WSOL_ALWAYS_INLINE float gelu_erf_f32(float x) {
    using namespace gelu_detail;
    const GeluArg g = split_arg(x);
    const float e = vec_exp(-0.5f * g.a * g.a);  // exp(-a^2/2); 0 once a > 13.2
    const float t = 1.0f / (1.0f + kTailT * g.a);
    return gelu_from_tail(x, g, e * t * normal_tail_poly(t));
}

// d/dx x Phi(x) = Phi(x) + x Phi'(x).
WSOL_ALWAYS_INLINE float gelu_erf_grad_f32(float x) {
    using namespace gelu_detail;
    const GeluArg g = split_arg(x);
    const float e = vec_exp(-0.5f * g.a * g.a);
    const float t = 1.0f / (1.0f + kTailT * g.a);
    const float q = e * t * normal_tail_poly(t);         // Phi(-a)
    return gelu_grad_from_tail(x, g, q - g.a * kInvSqrt2Pi * e);  // q - a Phi'(a)
}

// Tanh GELU: 0.5 x (1 + tanh u) = x sigma(2u).
WSOL_ALWAYS_INLINE float gelu_tanh_f32(float x) {
    using namespace gelu_detail;
    const GeluArg g = split_arg(x);
    const float u = kSqrt2OverPi * g.a * (1.0f + kTanhCubic * g.a * g.a);  // |u|: u is odd in x
    const float e = vec_exp(-2.0f * u);
    return gelu_from_tail(x, g, e / (1.0f + e));  // sigma(-2|u|)
}

// d/dx x sigma(2u) = sigma(2u) + 2 x u' sigma(2u) sigma(-2u).
WSOL_ALWAYS_INLINE float gelu_tanh_grad_f32(float x) {
    using namespace gelu_detail;
    const GeluArg g = split_arg(x);
    const float a2 = g.a * g.a;
    const float u = kSqrt2OverPi * g.a * (1.0f + kTanhCubic * a2);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kTanhCubic * a2);  // u'(x), even in x
    const float e = vec_exp(-2.0f * u);
    const float p = 1.0f / (1.0f + e);  // sigma(2|u|)
    const float q = e * p;              // sigma(-2|u|)
    return gelu_grad_from_tail(x, g, q - 2.0f * g.a * du * q * p);
}

}  // namespace wsol::cpu
