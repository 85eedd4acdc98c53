// CUDA kernels of the normalisation family (ops/norm.h), with the signatures of the CPU kernels
// (ops/cpu/norm.h). Every tensor is contiguous; optional ones (weight, bias, gradients that are
// not needed) may be undefined. float32, float64 and bfloat16; weight, bias and their gradients
// have x's dtype, while the saved statistics (mean, rstd, var) are float32 for bfloat16 inputs
// (x's dtype otherwise), so that the backward pass works from unrounded statistics.
//
// Determinism: the weight/bias gradients of layer_norm and every per-channel sum of batch_norm
// are two-stage reductions over a fixed split of the rows (partial sums per chunk, then the chunks
// added in order), never atomics: the same inputs give the same bits on every run.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

// x: (M, N) rows -> y: (M, N); mean, rstd: (M). y = (x - mean) * rstd * weight + bias.
void layer_norm(const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x, const Tensor& weight,
                const Tensor& bias, double eps);
// sum = x + residual (rounded to x's dtype, as the add kernel does), then y = layer_norm(sum), in
// one kernel: x and residual read once, sum and y written (all (M, N)).
void add_layer_norm(const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                    const Tensor& residual, const Tensor& weight, const Tensor& bias, double eps);
// grad_x (M, N), grad_weight (N) and grad_bias (N), each computed only when defined.
void layer_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight);

// x: (B, C, S) -> mean, var: (C), the biased variance over B and S (sums in float64).
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x);
// y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] over x: (B, C, S).
void batch_norm_apply(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias);
// training: grad_x = w rstd (g - mean(g) - xhat mean(g xhat)); eval: grad_x = w rstd g.
// grad_weight = sum(g xhat), grad_bias = sum(g) over B and S.
void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training);

}  // namespace wsol::cuda
