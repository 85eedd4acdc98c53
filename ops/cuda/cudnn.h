// cuDNN wrappers: 2-D convolution (forward, backward data, backward filter) and batch
// normalisation (training and inference forward, backward). The raw API that the conv2d and
// batch_norm ops will call on CUDA tensors; no autograd here.
//
// Layout NCHW. Activations (x, y, dx, dy) may have any strides; filters must be contiguous
// (K, C/groups, R, S). Convolution is cross-correlation, as in PyTorch:
//   y[n, k, p, q] = sum_{c, r, s} x[n, g*C/groups + c, p*stride_h - pad_h + r*dilation_h,
//                                    q*stride_w - pad_w + s*dilation_w] * w[k, c, r, s]
// with g the group of output channel k. dtypes: float32 (exact FMA math unless allow_tf32(),
// ops/autocast.h) and bfloat16 (tensor cores, float32 accumulation); float64 also works.
//
// The algorithm of each distinct convolution (shapes, strides, dtype, geometry, TF32) is chosen
// once by cuDNN's heuristic (the fastest one whose workspace is at most 1 GiB) and cached; the
// workspace comes from the caching allocator.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

struct Conv2dGeometry {
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_h = 0, pad_w = 0;
    int64_t dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;
};

// (N, K, P, Q) for x (N, C, H, W) and w (K, C/groups, R, S); throws naming the shapes when they do
// not fit together or the output would be empty.
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dGeometry& g);

// y = conv(x, w); y must have conv2d_output_shape.
void conv2d_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Conv2dGeometry& g);
// dx = gradient of sum(conv(x, w) * dy) with respect to x (overwritten).
void conv2d_backward_data(const Tensor& dx, const Tensor& dy, const Tensor& w, const Conv2dGeometry& g);
// dw = gradient with respect to w (overwritten; contiguous).
void conv2d_backward_filter(const Tensor& dw, const Tensor& dy, const Tensor& x, const Conv2dGeometry& g);

// Batch normalisation over (N, H, W) for each channel of x (N, C, H, W) or (N, C). weight, bias,
// running statistics and saved statistics are contiguous (C) tensors: float32 for float32 and
// bfloat16 x, float64 for float64 x. eps must be at least 1e-5 (cuDNN's minimum).
//
// Training: y = (x - mean) / sqrt(var + eps) * weight + bias with the batch statistics (biased
// variance); running_mean = (1 - momentum) running_mean + momentum mean and likewise running_var
// with the unbiased variance (PyTorch's rule) when the running tensors are defined; save_mean and
// save_invstd = 1 / sqrt(var + eps) are written for the backward pass.
void batch_norm_forward_training(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const Tensor& running_mean, const Tensor& running_var, double momentum, double eps,
                                 const Tensor& save_mean, const Tensor& save_invstd);
// Inference: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
void batch_norm_forward_inference(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Tensor& running_mean, const Tensor& running_var, double eps);
// Gradients of the training forward: dx, dweight, dbias (all overwritten).
void batch_norm_backward(const Tensor& dx, const Tensor& dweight, const Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                         double eps);

// Number of convolutions whose algorithm is cached (for tests and diagnostics).
size_t conv_algorithm_cache_size();

}  // namespace wsol::cuda
