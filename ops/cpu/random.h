// CPU kernels of ops/random.h: fill a contiguous tensor from Philox counters starting at `offset`.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace wsol::cpu {

enum class Distribution { Uniform, Normal, TruncNormal, Bernoulli };

struct DistributionParams {
    double a = 0.0, b = 1.0;  // uniform: low, high; normal: mean, std; bernoulli: p in a
    double low = 0.0, high = 0.0;          // truncated normal bounds
    double cdf_low = 0.0, cdf_high = 1.0;  // truncated normal: 2*cdf - 1 of the standardised bounds
};

void fill_random(Distribution dist, const Tensor& out, uint64_t seed, uint64_t offset, const DistributionParams& p);

}  // namespace wsol::cpu
