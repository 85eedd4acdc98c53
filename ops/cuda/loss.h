// CUDA kernels of the loss family (ops/loss.h), with the signatures of the CPU kernels
// (ops/cpu/loss.h). float32, float64 and bfloat16 (computed in float32); anything else is a
// wsol::Error naming the op and the dtype.
#pragma once

#include "ops/loss.h"

namespace wsol::cuda {

// ---- class-index losses: x: (N, C, S) contiguous, target: (N, S) int64 contiguous (validated by
// the op: every entry in [0, C) or ignore_index), class_weight: (C) of x's dtype or undefined. ----

// loss: (N, S) of x's dtype; lse: (N, S), float32 for bfloat16 x (x's dtype otherwise). loss and
// lse are 0 where target == ignore_index.
void cross_entropy(const Tensor& loss, const Tensor& lse, const Tensor& x, const Tensor& target,
                   const Tensor& class_weight, double smoothing, int64_t ignore_index);
// grad_x: (N, C, S) from grad_loss: (N, S) contiguous, in one pass (the fused gradient).
void cross_entropy_backward(const Tensor& grad_x, const Tensor& grad_loss, const Tensor& x, const Tensor& lse,
                            const Tensor& target, const Tensor& class_weight, double smoothing, int64_t ignore_index);
void nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, const Tensor& class_weight,
              int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       const Tensor& class_weight, int64_t ignore_index);

// ---- elementwise losses: `out` contiguous with input's shape; target has input's shape; weight
// and pos_weight broadcast to it or are undefined; every operand may be a strided view. ---------

// binary_cross_entropy checks that every probability is in [0, 1]: a flag on the device read back
// after the kernel (one synchronisation), so a bad input is a wsol::Error as on the CPU.
void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input, const Tensor& target,
                    const Tensor& weight, const Tensor& pos_weight);
// The gradient with respect to the input, or to the target when `wrt_target`, times grad_out.
void pointwise_loss_backward(PointwiseLoss kind, bool wrt_target, const Tensor& grad, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor& pos_weight);

}  // namespace wsol::cuda
