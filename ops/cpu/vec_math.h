// Small math helpers that CPU row kernels call inside `#pragma omp simd` loops.
//
// std::exp is a library call the compiler cannot vectorise without -ffast-math, and it dominates
// softmax and the losses. vec_exp(float) is a branch-free Cephes-style exp (range reduction
// x = k ln2 + r, a degree-6 polynomial for e^r, 2^k built in the exponent bits) that GCC and
// Clang turn into SIMD code under `omp simd`. Its relative error is below 1e-7 (about one ulp) on
// [-87, 88.72]; below -87 it returns 0 (the float32 subnormal range is flushed, which no caller can
// see next to the row maximum's e^0 = 1), above 88.72 +inf, and NaN stays NaN.
// The double overload is std::exp: float64 kernels exist for gradcheck, where accuracy matters
// more than speed.
//
// blocked_sum: a row sum that both vectorises and stays accurate. GCC does not vectorise an
// `omp simd` reduction into a double accumulator over float terms, and a float accumulator over a
// long row loses digits; so SIMD lanes sum blocks of kSumBlock terms in T and the block sums are
// added in double.
//
// WSOL_VECTOR_CLONES marks a hot float kernel to be compiled three times, for baseline x86-64
// (SSE2, 4 lanes), x86-64-v3 (AVX2, 8 lanes) and x86-64-v4 (AVX-512, 16 lanes); the loader picks
// the best one the CPU supports (GCC function multi-versioning, the same idea as PyTorch's
// per-ISA kernel builds), so one binary is fast on new CPUs and still runs on old ones. What
// such a kernel calls must be inlined into it to get the wider code: hence WSOL_ALWAYS_INLINE on
// the helpers here and on the per-row kernels. Elsewhere (Clang, non-x86) the macro is empty.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WSOL_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WSOL_VECTOR_CLONES
#endif
#define WSOL_ALWAYS_INLINE [[gnu::always_inline]] inline

// Clang reports each `omp simd` loop it leaves scalar (-Wpass-failed), e.g. the float64 versions
// of these kernels, which call std::exp. Those loops are correct as scalar loops; the report is
// noise for the files that include this header.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace wsol::cpu {

// Bitwise select: a where mask is all ones, b where it is zero.
WSOL_ALWAYS_INLINE int32_t select_bits(int32_t mask, int32_t a, int32_t b) { return (a & mask) | (b & ~mask); }

WSOL_ALWAYS_INLINE float vec_exp(float x) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f;    // ln 2 split in two so that k * kLn2Hi is exact
    constexpr float kLn2Lo = -2.12194440e-4f;
    constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
    // The range checks compare the bit patterns as integers and select with masks. A float
    // comparison feeding `?:` would do the same, but under GCC's default -ftrapping-math it keeps
    // the loop from being vectorised (a comparison may raise an FP exception flag).
    const int32_t bits = std::bit_cast<int32_t>(x);
    const int32_t magnitude = bits & 0x7fffffff;
    const int32_t is_nan = -int32_t(magnitude > 0x7f800000);
    const int32_t too_low = -int32_t((bits < 0) & (magnitude > std::bit_cast<int32_t>(87.0f)));     // x < -87
    const int32_t too_high = -int32_t((bits >= 0) & (magnitude > std::bit_cast<int32_t>(88.72f)));  // x > 88.72
    const float xc = std::bit_cast<float>(select_bits(
        too_low, std::bit_cast<int32_t>(-87.0f), select_bits(too_high, std::bit_cast<int32_t>(88.72f), bits)));
    const float k = (xc * kLog2e + kRoundMagic) - kRoundMagic;
    const float r = (xc - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ln2 / 2
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // 2^k as 2^k1 * 2^k2, both normal floats for every k in [-126, 128] (2^128 alone is not).
    const int32_t k1 = int32_t(k) >> 1, k2 = int32_t(k) - k1;
    const float scale1 = std::bit_cast<float>((k1 + 127) << 23), scale2 = std::bit_cast<float>((k2 + 127) << 23);
    int32_t y = std::bit_cast<int32_t>(p * scale1 * scale2);
    y = select_bits(too_low, 0, y);                // exp(x < -87) -> 0
    y = select_bits(too_high, 0x7f800000, y);      // exp(x > 88.72) -> +inf (ln FLT_MAX = 88.7228)
    return std::bit_cast<float>(select_bits(is_nan, bits, y));  // NaN in, NaN out
}

inline double vec_exp(double x) { return std::exp(x); }

inline constexpr int64_t kSumBlock = 256;

// sum over i in [0, n) of term(i), where term returns T (and may also store, e.g. y[i] = e).
template <class T, class Term>
WSOL_ALWAYS_INLINE double blocked_sum(int64_t n, Term&& term) {
    double total = 0.0;
    for (int64_t begin = 0; begin < n; begin += kSumBlock) {
        const int64_t end = begin + kSumBlock < n ? begin + kSumBlock : n;
        T part = T(0);
#pragma omp simd reduction(+ : part)
        for (int64_t i = begin; i < end; ++i) part += term(i);
        total += double(part);
    }
    return total;
}

}  // namespace wsol::cpu
