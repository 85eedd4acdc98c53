// Normalisation layers as functions: LayerNorm (ViT/DeiT blocks) and BatchNorm (ResNet-50),
// following torch.nn.functional.layer_norm / batch_norm.
//
// layer_norm normalises over the trailing `normalized_shape` axes of x:
//   y = (x - mean) / sqrt(var + eps) * weight + bias     (biased variance, per row)
// weight and bias have shape normalized_shape and are optional (undefined tensors).
//
// batch_norm normalises x: (N, C, ...) per channel c over N and the spatial axes.
//   training: uses the batch statistics (biased variance to normalise) and, when running_mean /
//             running_var are given, updates them in place as PyTorch does:
//               running = (1 - momentum) * running + momentum * batch_stat
//             with the *unbiased* batch variance for running_var. Needs more than one value per
//             channel. Running stats may be undefined (like track_running_stats=False).
//   eval:     uses running_mean / running_var (required), treated as constants.
// The gradient flows to x, weight and bias in both modes; running stats never get one.
#pragma once

#include "engine/tensor.h"

namespace wsol {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace wsol
