// CPU kernels of the softmax family (ops/softmax.h). All tensors are contiguous and have the same
// shape; `axis` is already wrapped. ops/cuda/softmax.h will declare the same functions.
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// y = softmax(x) along axis, or log_softmax when `log`.
void softmax(const Tensor& y, const Tensor& x, int64_t axis, bool log);
// softmax:     grad_x = y * (grad_y - sum(grad_y * y))
// log_softmax: grad_x = grad_y - exp(y) * sum(grad_y)        (sums along axis)
void softmax_backward(const Tensor& grad_x, const Tensor& grad_y, const Tensor& y, int64_t axis, bool log);

}  // namespace wsol::cpu
