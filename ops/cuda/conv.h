// CUDA kernels of conv2d (ops/conv.h), with the signatures of the CPU kernels (ops/cpu/conv.h),
// through cuDNN (ops/cuda/cudnn.h): all tensors contiguous, shapes as wsol::Conv2dGeometry
// describes. float32 (exact FMA math, or TF32 when allow_tf32()), bfloat16 (tensor cores, float32
// accumulation) and float64. The bias is added by an elementwise kernel after the convolution and
// its gradient is a deterministic reduction over (N, Ho, Wo).
#pragma once

#include "ops/conv.h"

namespace wsol::cuda {

// y (N, O, Ho, Wo) = conv(x (N, C, H, W), weight (O, C/G, kh, kw)) + bias (O) when defined.
void conv2d(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias, const wsol::Conv2dGeometry& g);
// grad_x (N, C, H, W) from grad_y (N, O, Ho, Wo) and the weight.
void conv2d_grad_input(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const wsol::Conv2dGeometry& g);
// grad_weight (O, C/G, kh, kw) from grad_y and the input.
void conv2d_grad_weight(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const wsol::Conv2dGeometry& g);
// grad_bias (O) = grad_y summed over images and pixels.
void conv2d_grad_bias(const Tensor& grad_bias, const Tensor& grad_y, const wsol::Conv2dGeometry& g);

}  // namespace wsol::cuda
