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
//
// add_layer_norm is the pre-norm transformer block's "residual add, then LayerNorm" in one pass:
//   sum = x + residual,   normed = layer_norm(sum, normalized_shape, weight, bias, eps)
// x and residual have one shape, dtype and device. On CUDA one kernel reads x and residual once and
// writes both outputs (instead of an add kernel and a LayerNorm kernel re-reading the sum); on the
// CPU it adds, then normalises. The numbers are those of add() then layer_norm(), gradients
// included: the graph holds an add node and a layer_norm node, so the gradient reaching `sum` from
// both its uses is summed before flowing back to x and residual.
#pragma once

#include "engine/tensor.h"

namespace wsol {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

struct AddLayerNorm {
    Tensor sum;     // x + residual
    Tensor normed;  // layer_norm(sum)
};
AddLayerNorm add_layer_norm(const Tensor& x, const Tensor& residual, const Shape& normalized_shape,
                            const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace wsol
