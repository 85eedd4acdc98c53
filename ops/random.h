// Random tensors from an explicit Generator (engine/generator.h). Every function reserves its
// counters from the generator and computes element i from (seed, offset, i) with Philox, so the
// same seed gives the same numbers on the CPU and on the GPU, whatever the thread count.
// Values are generated in float32 precision; float64 tensors receive them converted exactly.
#pragma once

#include "engine/generator.h"
#include "engine/tensor.h"

namespace wsol {

// Uniform in [low, high).
Tensor rand_uniform(const Shape& shape, Generator& gen, double low = 0.0, double high = 1.0,
                    DType dtype = kFloat32, Device device = kCPU);
// Normal with the given mean and standard deviation (Box-Muller).
Tensor rand_normal(const Shape& shape, Generator& gen, double mean = 0.0, double std = 1.0,
                   DType dtype = kFloat32, Device device = kCPU);
// Normal(mean, std) restricted to [low, high] (absolute bounds, as timm's trunc_normal_), by
// inverse-CDF sampling: uniform in [cdf(low), cdf(high)] mapped through the inverse CDF.
Tensor rand_trunc_normal(const Shape& shape, Generator& gen, double mean = 0.0, double std = 1.0,
                         double low = -2.0, double high = 2.0, DType dtype = kFloat32, Device device = kCPU);
// 1 with probability p, else 0 (in `dtype`; bool gives true/false).
Tensor rand_bernoulli(const Shape& shape, Generator& gen, double p, DType dtype = kFloat32, Device device = kCPU);
// A random permutation of 0..n-1 (int64): indices sorted by a random 32-bit key, ties by index.
Tensor randperm(int64_t n, Generator& gen, Device device = kCPU);

// In-place fills of an existing tensor (for initialisers), same streams as above.
void uniform_(const Tensor& x, Generator& gen, double low, double high);
void normal_(const Tensor& x, Generator& gen, double mean, double std);
void trunc_normal_(const Tensor& x, Generator& gen, double mean, double std, double low, double high);

// The inverse of the error function, accurate to double precision (used by trunc_normal).
double erfinv(double y);

}  // namespace wsol
