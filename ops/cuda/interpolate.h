// CUDA kernels of interpolate (ops/interpolate.h), with the signatures of the CPU kernels
// (ops/cpu/interpolate.h): x, y, grad_x, grad_y are contiguous (N, C, H, W) tensors. float32,
// float64 and bfloat16 (computed in float32); anything else is a wsol::Error.
//
// The taps and weights of each axis are the CPU's own tables (cpu::axis_taps, PyTorch's index
// arithmetic), built on the host and copied to the device. The backward pass is a gather over
// the inverted tables (for each input row, the output rows that read it, with their weights), so
// it is deterministic without atomics.
#pragma once

#include "ops/interpolate.h"

namespace wsol::cuda {

void interpolate(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners);
// grad_x (overwritten) = the transpose of the forward map applied to grad_y.
void interpolate_grad(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners);

}  // namespace wsol::cuda
