// Parameter initialisers, with PyTorch's definitions of fan-in/fan-out and gains. They draw from
// an explicit Generator, so an initialisation is reproducible from a seed (its values differ from
// PyTorch's, whose generator is different: parity tests load weights instead).
#pragma once

#include "engine/generator.h"
#include "engine/tensor.h"

namespace wsol::nn::init {

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (at least 2-D).
int64_t fan_in(const Tensor& w);
int64_t fan_out(const Tensor& w);

void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
void uniform_(const Tensor& t, Generator& gen, double low, double high);
void normal_(const Tensor& t, Generator& gen, double mean, double std);
// timm's trunc_normal_(tensor, mean, std, a, b), arguments in timm's order: normal(mean, std)
// restricted to the ABSOLUTE bounds [low, high] (not mean +- 2 std: with std 0.02 nothing is cut).
void trunc_normal_(const Tensor& t, Generator& gen, double mean = 0.0, double std = 1.0, double low = -2.0,
                   double high = 2.0);
void xavier_uniform_(const Tensor& t, Generator& gen, double gain = 1.0);
void xavier_normal_(const Tensor& t, Generator& gen, double gain = 1.0);
// Kaiming/He for a (leaky) ReLU with negative slope `a`; fan_in mode (PyTorch's default).
void kaiming_uniform_(const Tensor& t, Generator& gen, double a = 0.0, bool fan_out_mode = false);
void kaiming_normal_(const Tensor& t, Generator& gen, double a = 0.0, bool fan_out_mode = false);

// PyTorch's default for nn.Linear and nn.Conv2d: weight kaiming_uniform(a = sqrt 5), i.e. uniform
// in +-1/sqrt(fan_in), and bias uniform in +-1/sqrt(fan_in). `bias` may be undefined.
void default_layer_init(const Tensor& weight, const Tensor& bias, Generator& gen);

}  // namespace wsol::nn::init
