// CPU kernels of ops/optim.h.
#pragma once

#include "ops/optim.h"

namespace wsol::cpu {

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamWHyper& hyper);

}  // namespace wsol::cpu
