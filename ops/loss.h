// Loss functions with PyTorch's exact semantics (torch.nn.functional.*): classification losses
// on class indices, binary cross-entropy on probabilities or logits, and the regression losses.
//
// Every loss takes a Reduction: None gives the per-element (per-sample) losses, Sum their sum,
// Mean (the default) their mean - for the class-index losses a *weighted* mean, divided by the sum
// of the class weights of the non-ignored targets, as PyTorch does (all targets ignored gives NaN).
//
// Which arguments get a gradient: the input (logits / log-probs / probs); the target of the
// binary cross-entropies and of mse/l1. Class weights, weight and pos_weight are constants: one
// that requires grad while gradients are recorded is an error rather than a silently missing
// gradient.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace wsol {

enum class Reduction { None, Mean, Sum };

const char* reduction_name(Reduction reduction);

// The elementwise losses share one kernel table (CPU and CUDA index it alike).
enum class PointwiseLoss { BinaryCrossEntropy, BinaryCrossEntropyWithLogits, SquaredError, AbsoluteError };

// logits: (N, C) or (N, C, d1, ...) (or (C) with a 0-dim target); target: int64 class indices of
// shape (N) or (N, d1, ...), each in [0, C) or equal to ignore_index (an index out of range is an
// error naming the value and its position). Fused log-softmax + NLL forward and backward:
//   loss_i = (1 - eps) * w[t_i] * (lse_i - x_{i,t_i}) + eps / C * sum_c w[c] * (lse_i - x_{i,c})
// with lse_i = logsumexp_c(x_{i,c}), eps = label_smoothing, w = class_weight (all ones when
// undefined), and loss_i = 0 where t_i == ignore_index. None returns loss of target's shape.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     double label_smoothing = 0.0, int64_t ignore_index = -100, const Tensor& class_weight = Tensor());

// Negative log-likelihood on log-probabilities (the output of log_softmax), same shapes and
// ignore/weight rules as cross_entropy: loss_i = -w[t_i] * log_probs_{i,t_i}.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100, const Tensor& class_weight = Tensor());

// probs in [0, 1] (anything else is an error, as in PyTorch); target has probs' shape; weight
// broadcasts to it. loss = -w (t log p + (1 - t) log(1 - p)), each log clamped at -100 like
// PyTorch so that p = 0 or 1 gives a finite loss. The input gradient is
// w (p - t) / max(p (1 - p), 1e-12), PyTorch's formula.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);

// The stable form on logits x: loss = w ((1 - t) x + (1 + (pw - 1) t) softplus(-x)), softplus
// computed as log1p(exp(-|x|)) + max(-x, 0). target has x's shape; weight and pos_weight broadcast
// to it (pos_weight typically (C) against (N, C)).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::Mean);

// (a - b)^2 and |a - b| (gradient sign(a - b), 0 at 0). a and b must have the same shape.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::Mean);

}  // namespace wsol
