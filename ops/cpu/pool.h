// CPU kernels of the pooling family (ops/pool.h). Inputs and outputs are contiguous stacks of
// (H, W) planes, `g.planes` of them; float32 or float64.
#pragma once

#include "ops/pool.h"

namespace wsol::cpu {

void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2dGeometry& g);
// grad_x = 0, then grad_x[plane][indices] += grad_y.
void max_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& indices, const Pool2dGeometry& g);
void avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g);
void avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g);
// Only planes, in_h, in_w, out_h, out_w of the geometry are used.
void adaptive_avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g);
void adaptive_avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g);

}  // namespace wsol::cpu
