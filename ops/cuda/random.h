// CUDA kernel of ops/random.h, with exactly the signature of the CPU kernel (ops/cpu/random.h):
// fills a contiguous tensor from Philox counters starting at `offset`. It evaluates the same
// formulas as the CPU kernel through the same header (engine/philox.h), with the affine steps
// written as explicitly rounded double operations (no fused multiply-add), so a seed gives the
// same numbers on both devices (tests/cuda/test_random.cpp checks the bits). Every dtype.
#pragma once

#include "ops/cpu/random.h"

namespace wsol::cuda {

using cpu::Distribution;
using cpu::DistributionParams;

void fill_random(Distribution dist, const Tensor& out, uint64_t seed, uint64_t offset, const DistributionParams& p);

}  // namespace wsol::cuda
