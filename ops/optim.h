// Fused in-place parameter updates used by the optimizers (nn/optim.h). Not differentiable: they
// run under NoGradGuard on leaves, once per step, and read/write each array exactly once.
#pragma once

#include "engine/tensor.h"

namespace wsol {

struct AdamWHyper {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.01;
    int64_t step = 1;  // 1-based step count after this update (for bias correction)
};

// PyTorch's AdamW (decoupled weight decay), for one parameter:
//   p  *= 1 - lr * wd
//   m   = b1 m + (1 - b1) g
//   v   = b2 v + (1 - b2) g^2
//   p  -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// param, grad, exp_avg, exp_avg_sq: same shape, float32 or float64, one device; all contiguous.
void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const AdamWHyper& hyper);

}  // namespace wsol
