// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. Ten rounds of multiply-and-xor turn a 128-bit counter and a 64-bit key
// into four 32-bit random words. Because the output is a pure function of (counter, key), the
// value for element i of a tensor can be computed by whichever thread handles element i, on the
// CPU or the GPU, and the two agree exactly. This header is shared by both (WSOL_HOST_DEVICE).
//
// How wsol numbers its streams (see Generator): the key is the 64-bit seed; a request for n values
// takes ceil(n/4) consecutive counters starting at the generator's offset; value i comes from
// counter (offset + i/4) — its low and high 32 bits in the first two counter words, the other
// two zero — and from lane i % 4 of that block.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define WSOL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define WSOL_HOST_DEVICE inline
#endif

namespace wsol::philox {

struct Block {
    uint32_t x[4];
};

WSOL_HOST_DEVICE void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    const uint64_t product = uint64_t(a) * uint64_t(b);
    hi = uint32_t(product >> 32);
    lo = uint32_t(product);
}

// The full Philox4x32-10 bijection: a 128-bit counter and a 64-bit key to four random words.
WSOL_HOST_DEVICE Block philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c0, hi0, lo0);
        mulhilo(0xCD9E8D57u, c2, hi1, lo1);
        const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return Block{{c0, c1, c2, c3}};
}

// The four random words of counter `counter` under key `seed` (wsol's use: upper words zero).
WSOL_HOST_DEVICE Block generate(uint64_t counter, uint64_t seed) {
    return philox4x32_10(uint32_t(counter), uint32_t(counter >> 32), 0, 0, uint32_t(seed), uint32_t(seed >> 32));
}

// The 32-bit word for value `i` of a request that started at counter `offset`.
WSOL_HOST_DEVICE uint32_t word(uint64_t seed, uint64_t offset, uint64_t i) {
    return generate(offset + i / 4, seed).x[i % 4];
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float32).
WSOL_HOST_DEVICE float to_unit_float(uint32_t bits) { return float(bits >> 8) * (1.0f / 16777216.0f); }

// Value i of a uniform [0,1) request.
WSOL_HOST_DEVICE float uniform(uint64_t seed, uint64_t offset, uint64_t i) {
    return to_unit_float(word(seed, offset, i));
}

// Value i of a standard-normal request: Box-Muller on lane pairs (0,1) and (2,3) of each block,
// cosine branch for even i, sine branch for odd i. Computed in double and rounded once to float,
// so host libm and CUDA's math library round to the same float.
WSOL_HOST_DEVICE float normal(uint64_t seed, uint64_t offset, uint64_t i) {
    const Block b = generate(offset + i / 4, seed);
    const uint32_t lane = uint32_t(i % 4) & ~1u;
    const double u1 = (double(b.x[lane] >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
    const double u2 = double(b.x[lane + 1] >> 8) * (1.0 / 16777216.0);      // [0, 1)
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = 6.283185307179586 * u2;
    return float(i % 2 == 0 ? radius * cos(angle) : radius * sin(angle));
}

}  // namespace wsol::philox
