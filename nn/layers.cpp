#include "nn/layers.h"

#include "nn/init.h"
#include "ops/ops.h"

namespace wsol::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Generator& gen) : Module("Linear") {
    WSOL_CHECK(in_features > 0 && out_features > 0, "Linear: sizes must be positive, got ", in_features, " -> ",
               out_features);
    weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
    if (with_bias) bias = register_parameter("bias", Tensor::empty({out_features}));
    init::default_layer_init(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel, Generator& gen,
               std::array<int64_t, 2> stride_, std::array<int64_t, 2> padding_, std::array<int64_t, 2> dilation_,
               int64_t groups_, bool with_bias)
    : Module("Conv2d"), stride(stride_), padding(padding_), dilation(dilation_), groups(groups_) {
    WSOL_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, "Conv2d: channels ",
               in_channels, " -> ", out_channels, " are not divisible by groups ", groups);
    weight = register_parameter("weight", Tensor::empty({out_channels, in_channels / groups, kernel[0], kernel[1]}));
    if (with_bias) bias = register_parameter("bias", Tensor::empty({out_channels}));
    init::default_layer_init(weight, bias, gen);
}

Tensor Conv2d::forward(const Tensor& x) const { return conv2d(x, weight, bias, stride, padding, dilation, groups); }

LayerNorm::LayerNorm(int64_t dim, double eps_, bool affine) : Module("LayerNorm"), eps(eps_) {
    if (affine) {
        weight = register_parameter("weight", ones({dim}));
        bias = register_parameter("bias", Tensor::zeros({dim}));
    }
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, {x.size(-1)}, weight, bias, eps); }
AddLayerNorm LayerNorm::forward_add(const Tensor& x, const Tensor& residual) const {
    return add_layer_norm(x, residual, {x.size(-1)}, weight, bias, eps);
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps_, double momentum_)
    : Module("BatchNorm2d"), eps(eps_), momentum(momentum_) {
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", Tensor::zeros({channels}));
    running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
    running_var = register_buffer("running_var", ones({channels}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, kInt64));
}

Tensor BatchNorm2d::forward(const Tensor& x) const {
    WSOL_CHECK(x.dim() == 4, "BatchNorm2d: expected (N, C, H, W), got ", shape_str(x.shape()));
    if (is_training()) {
        // An int64 counter (PyTorch's buffer, kept for state-dict parity; nothing reads it with a
        // momentum set): counted on the host, as the arithmetic ops take floating dtypes only.
        const int64_t count = num_batches_tracked.item<int64_t>();
        copy_into(num_batches_tracked, Tensor::scalar<int64_t>(count + 1, num_batches_tracked.device()));
    }
    return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

Dropout::Dropout(double p_, GeneratorPtr gen) : Module("Dropout"), p(p_), gen_(std::move(gen)) {
    WSOL_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability ", p, " is outside [0, 1]");
    WSOL_CHECK(gen_ != nullptr || p == 0.0, "Dropout: a generator is needed when p > 0");
}

Tensor Dropout::forward(const Tensor& x) const {
    if (!is_training() || p == 0.0) return x;
    return dropout(x, p, true, *gen_);
}

DropPath::DropPath(double p_, GeneratorPtr gen) : Module("DropPath"), p(p_), gen_(std::move(gen)) {
    WSOL_CHECK(p >= 0.0 && p < 1.0, "DropPath: probability ", p, " is outside [0, 1)");
    WSOL_CHECK(gen_ != nullptr || p == 0.0, "DropPath: a generator is needed when p > 0");
}

Tensor DropPath::forward(const Tensor& x) const {
    if (!is_training() || p == 0.0) return x;
    return drop_path(x, p, true, *gen_);
}

Mlp::Mlp(int64_t in_features, int64_t hidden_features, int64_t out_features, Generator& init_gen, GeneratorPtr gen,
         double dropout_p)
    : Module("Mlp") {
    fc1 = register_module("fc1", std::make_shared<Linear>(in_features, hidden_features, true, init_gen));
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden_features, out_features, true, init_gen));
    drop = register_module("drop", std::make_shared<Dropout>(dropout_p, std::move(gen)));
}

Tensor Mlp::forward(const Tensor& x) const { return drop->forward(fc2->forward(drop->forward(gelu(fc1->forward(x))))); }

}  // namespace wsol::nn
