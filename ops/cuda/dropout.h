// CUDA kernel of the dropout family (ops/dropout.h), with the signature of the CPU kernel
// (ops/cpu/dropout.h). The masks themselves come from ops/random.h (rand_bernoulli), whose CUDA
// fill evaluates the same Philox stream as the CPU: a seed gives the same mask on both devices.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

// out = x * (mask * scale), mask uint8 (0 or 1) broadcasting to x's shape (drop_path: one value per
// sample). `out` is contiguous with x's shape; x may be any view. float32, float64, bfloat16.
void masked_scale(const Tensor& out, const Tensor& x, const Tensor& mask, double scale);

}  // namespace wsol::cuda
