// CPU kernels of the normalisation family (ops/norm.h). Every tensor is contiguous; optional
// tensors (weight, bias, and gradients that are not needed) may be undefined.
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// x: (M, N) rows -> y: (M, N); mean, rstd: (M). y = (x - mean) * rstd * weight + bias.
void layer_norm(const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x, const Tensor& weight,
                const Tensor& bias, double eps);
// One pass over the rows produces grad_x (M, N), grad_weight (N) and grad_bias (N).
void layer_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight);

// x: (B, C, S) -> mean, var: (C), the biased variance over B and S.
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x);
// y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] over x: (B, C, S).
void batch_norm_apply(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias);
// training: grad_x = w rstd (g - mean(g) - xhat mean(g xhat)) (mean and rstd were batch statistics);
// eval:     grad_x = w rstd g (they were constants). grad_weight = sum(g xhat), grad_bias = sum(g).
void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training);

}  // namespace wsol::cpu
