// CUDA kernels of the pooling family (ops/pool.h), with the signatures of the CPU kernels
// (ops/cpu/pool.h): inputs and outputs are contiguous stacks of (H, W) planes, `g.planes` of
// them. float32, float64 and bfloat16 (computed in float32); anything else is a wsol::Error.
//
// The backward passes are gathers, not scatters: each input element sums the gradients of the
// outputs whose windows contain it, in the order the CPU kernel adds them (output row, then
// column). So they are deterministic without atomics, and for float32/float64 identical to the CPU.
#pragma once

#include "ops/pool.h"

namespace wsol::cuda {

void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2dGeometry& g);
// grad_x[plane][i] = sum of grad_y over the outputs whose chosen index is i.
void max_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& indices, const Pool2dGeometry& g);
void avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g);
void avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g);
// Only planes, in_h, in_w, out_h, out_w of the geometry are used.
void adaptive_avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g);
void adaptive_avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g);

}  // namespace wsol::cuda
