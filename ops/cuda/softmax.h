// CUDA kernels of the softmax family (ops/softmax.h), with the signatures of the CPU kernels
// (ops/cpu/softmax.h): all tensors contiguous and of one shape, `axis` already wrapped.
// float32, float64 and bfloat16 (computed in float32); anything else is a wsol::Error.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

// y = softmax(x) along axis, or log_softmax when `log`.
void softmax(const Tensor& y, const Tensor& x, int64_t axis, bool log);
// softmax:     grad_x = y * (grad_y - sum(grad_y * y))
// log_softmax: grad_x = grad_y - exp(y) * sum(grad_y)        (sums along axis)
void softmax_backward(const Tensor& grad_x, const Tensor& grad_y, const Tensor& y, int64_t axis, bool log);

}  // namespace wsol::cuda
