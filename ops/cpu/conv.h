// CPU kernels of conv2d (ops/conv.h): im2col + GEMM forward, col2im backward. All tensors are
// contiguous, shapes as Conv2dGeometry describes; float32 or float64.
#pragma once

#include "ops/conv.h"

namespace wsol::cpu {

// y (N, O, Ho, Wo) = conv(x (N, C, H, W), weight (O, C/G, kh, kw)) + bias (O) when defined.
void conv2d(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g);
// grad_x (N, C, H, W) from grad_y (N, O, Ho, Wo) and the weight.
void conv2d_grad_input(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const Conv2dGeometry& g);
// grad_weight (O, C/G, kh, kw) from grad_y and the input.
void conv2d_grad_weight(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const Conv2dGeometry& g);
// grad_bias (O) = grad_y summed over images and pixels (in double).
void conv2d_grad_bias(const Tensor& grad_bias, const Tensor& grad_y, const Conv2dGeometry& g);

}  // namespace wsol::cpu
