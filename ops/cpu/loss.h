// CPU kernels of the loss family (ops/loss.h).
#pragma once

#include "ops/loss.h"

namespace wsol::cpu {

// ---- class-index losses: x: (N, C, S) contiguous, target: (N, S) int64 contiguous (already
// validated: every entry in [0, C) or ignore_index), class_weight: (C) or undefined. ---------

// loss, lse: (N, S). loss is 0 and lse unspecified where target == ignore_index.
void cross_entropy(const Tensor& loss, const Tensor& lse, const Tensor& x, const Tensor& target,
                   const Tensor& class_weight, double smoothing, int64_t ignore_index);
// grad_x: (N, C, S) from grad_loss: (N, S) contiguous.
void cross_entropy_backward(const Tensor& grad_x, const Tensor& grad_loss, const Tensor& x, const Tensor& lse,
                            const Tensor& target, const Tensor& class_weight, double smoothing, int64_t ignore_index);
void nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, const Tensor& class_weight,
              int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       const Tensor& class_weight, int64_t ignore_index);

// ---- elementwise losses: `out` contiguous with input's shape; target has input's shape; weight
// and pos_weight broadcast to it or are undefined; every operand may be a strided view. --------

void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input, const Tensor& target,
                    const Tensor& weight, const Tensor& pos_weight);
// The gradient with respect to the input, or to the target when `wrt_target`, times grad_out.
void pointwise_loss_backward(PointwiseLoss kind, bool wrt_target, const Tensor& grad, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor& pos_weight);

}  // namespace wsol::cpu
