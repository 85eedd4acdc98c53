// CPU kernels of interpolate (ops/interpolate.h). x and y are contiguous (N, C, H, W) tensors.
#pragma once

#include "ops/interpolate.h"

namespace wsol::cpu {

void interpolate(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners);
// grad_x (zeroed here) receives grad_y scattered back through the same taps and weights.
void interpolate_grad(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners);

}  // namespace wsol::cpu
