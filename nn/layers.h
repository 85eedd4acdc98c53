// The basic layers: Linear, Conv2d, LayerNorm, BatchNorm2d, Dropout, DropPath, Mlp.
// Parameter names and shapes are PyTorch's/timm's, so state dicts load by name.
//
// Layers that draw random numbers (Dropout, DropPath) hold the model's Generator: one stream per
// model, whose (seed, offset) a training checkpoint saves, so a resumed run draws the same masks.
#pragma once

#include <array>
#include <memory>

#include "engine/generator.h"
#include "nn/module.h"
#include "ops/norm.h"

namespace wsol::nn {

using GeneratorPtr = std::shared_ptr<Generator>;

class Linear : public Module {
public:
    // PyTorch's default initialisation (uniform +-1/sqrt(in_features)) from `gen`.
    Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen);
    Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
    Tensor weight, bias;                    // (out, in), (out) or undefined
};

class Conv2d : public Module {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel, Generator& gen,
           std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0},
           std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1, bool bias = true);
    Tensor forward(const Tensor& x) const;  // (N, C, H, W) -> (N, O, H', W')
    Tensor weight, bias;                    // (O, C/groups, kh, kw), (O) or undefined
    std::array<int64_t, 2> stride, padding, dilation;
    int64_t groups;
};

class LayerNorm : public Module {
public:
    explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true);
    Tensor forward(const Tensor& x) const;  // normalises the last axis
    // {x + residual, forward(x + residual)} in one pass (ops/norm.h add_layer_norm): a residual
    // connection followed by this norm, as in pre-norm and post-norm transformer layers.
    AddLayerNorm forward_add(const Tensor& x, const Tensor& residual) const;
    Tensor weight, bias;                    // (dim): ones and zeros
    double eps;
};

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
    Tensor forward(const Tensor& x) const;  // batch statistics in training, running ones in eval
    Tensor weight, bias, running_mean, running_var, num_batches_tracked;
    double eps, momentum;
};

class Dropout : public Module {
public:
    Dropout(double p, GeneratorPtr gen);
    Tensor forward(const Tensor& x) const;
    double p;

private:
    GeneratorPtr gen_;
};

// Stochastic depth (timm's DropPath): drops a whole residual branch per sample.
class DropPath : public Module {
public:
    DropPath(double p, GeneratorPtr gen);
    Tensor forward(const Tensor& x) const;
    double p;

private:
    GeneratorPtr gen_;
};

// timm's Mlp: fc1 -> GELU (erf) -> dropout -> fc2 -> dropout.
class Mlp : public Module {
public:
    Mlp(int64_t in_features, int64_t hidden_features, int64_t out_features, Generator& init_gen, GeneratorPtr gen,
        double dropout = 0.0);
    Tensor forward(const Tensor& x) const;
    std::shared_ptr<Linear> fc1, fc2;
    std::shared_ptr<Dropout> drop;
};

}  // namespace wsol::nn
