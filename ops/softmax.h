// Softmax and log-softmax along one axis, numerically stable (the row maximum is subtracted
// before exp). Like PyTorch, a row of all -inf gives NaN; x may have any layout.
//
//   softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j
//   log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m))
//
// Backward passes are fused row kernels that need only the output y:
//   softmax:     gx = y * (g - sum(g * y))
//   log_softmax: gx = g - exp(y) * sum(g)
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace wsol {

Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);

}  // namespace wsol
