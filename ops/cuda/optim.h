// CUDA kernel of ops/optim.h (fused AdamW), with the signature of the CPU kernel (ops/cpu/optim.h):
// param, grad, exp_avg, exp_avg_sq contiguous, of one shape and dtype (float32 or float64).
#pragma once

#include "ops/optim.h"

namespace wsol::cuda {

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamWHyper& hyper);

}  // namespace wsol::cuda
