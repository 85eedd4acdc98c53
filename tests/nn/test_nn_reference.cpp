// nn/ modules against independent oracles:
//  - PyTorch fixtures (tools/reference/nn_transformer.py): nn::TransformerEncoderLayer (both layouts) and
//    nn::TorchMultiheadAttention against torch.nn.TransformerEncoderLayer / MultiheadAttention, output and every
//    gradient, loaded by PyTorch's state_dict names; nn::BatchNorm2d against torch.nn.BatchNorm2d through two
//    train steps (running statistics) and eval mode. The modules run in float64 and in float32.
//  - PyTorch's documented formulas for the Xavier/Kaiming initialisers (nn/init.h), checked statistically.
//  - The definition of a permutation for randperm (ops/random.h).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nn/init.h"
#include "nn/layers.h"
#include "nn/transformer.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

// A dtype to run a module in, and the tolerance its results must meet against the fixture. The fixtures hold
// float64 results rounded to float32 (relative error <= 2^-24), hence 1e-6 in float64; PyTorch's own float32 run
// of these cases uses under 10% of the float32 budget.
struct Precision {
    DType dtype;
    double rtol, atol;
};
constexpr Precision kDouble{kFloat64, 1e-6, 1e-9};
constexpr Precision kSingle{kFloat32, 1e-5, 1e-5};

// The entries of `file` whose names start with `prefix`, with the prefix removed, in file order.
NamedTensors with_prefix(const TensorFile& file, const std::string& prefix) {
    NamedTensors out;
    for (const auto& [name, t] : file.tensors) {
        if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), t);
    }
    return out;
}

std::vector<std::string> names_of(const NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& [name, t] : list) out.push_back(name);
    return out;
}

// A fresh leaf with requires_grad holding `value` converted to `dtype`.
Tensor leaf_from(const Tensor& value, DType dtype) {
    Tensor x = clone(to(value, dtype)).detach();
    x.set_requires_grad(true);
    return x;
}

// Checks every parameter's accumulated gradient against the fixture tensor `<grad_prefix><name>`.
void expect_parameter_grads(const nn::Module& module, const TensorFile& fx, const std::string& grad_prefix,
                            const Precision& p) {
    for (const auto& [name, param] : module.named_parameters()) {
        ASSERT_TRUE(param.grad().defined()) << "no gradient reached " << name;
        EXPECT_TRUE(all_close(param.grad(), fx.at(grad_prefix + name), p.rtol, p.atol)) << "gradient of " << name;
    }
}

class TransformerParity : public ::testing::Test {
protected:
    TensorFile fx = load_safetensors(testing::fixture_path("nn/transformer_encoder.safetensors"));

    // Loads the PyTorch weights into a TransformerEncoderLayer(16 dims, 2 heads, 32 feed-forward, no dropout,
    // eps 1e-5), runs it on the fixture input (S, B, D) - transposed to (B, S, D) when batch_first - backpropagates
    // the stored cotangent and compares the output, the input gradient and every parameter gradient. PyTorch's
    // batch_first layer gives the transposed results and the same parameter gradients (the fixture script checks).
    void check_layer(bool batch_first, const Precision& p) {
        SCOPED_TRACE(std::string(batch_first ? "batch_first" : "seq_first") + " in " + dtype_name(p.dtype));
        Generator init_gen(0);  // the initial values are overwritten by the load
        nn::TransformerEncoderLayer layer(16, 2, 32, /*dropout=*/0.0, /*eps=*/1e-5, batch_first, init_gen, nullptr);
        layer.to(p.dtype);
        layer.load_state_dict(with_prefix(fx, "param."));  // strict: every PyTorch name is ours
        auto layout = [&](const Tensor& t) { return batch_first ? contiguous(transpose(t, 0, 1)) : t; };
        Tensor x = leaf_from(layout(fx.at("x")), p.dtype);
        Tensor y = layer.forward(x);
        EXPECT_EQ(y.dtype(), p.dtype);
        EXPECT_TRUE(all_close(y, layout(fx.at("y")), p.rtol, p.atol)) << "output";
        backward(y, to(layout(fx.at("gy")), p.dtype));
        ASSERT_TRUE(x.grad().defined());
        EXPECT_TRUE(all_close(x.grad(), layout(fx.at("gx")), p.rtol, p.atol)) << "input gradient";
        expect_parameter_grads(layer, fx, "grad.", p);
    }
};

// Our state_dict names, in order, are torch.nn.TransformerEncoderLayer's (the order the fixture script printed),
// and the same set of names as the fixture's parameters; likewise for the attention on its own.
TEST_F(TransformerParity, ParameterNamesArePyTorchs) {
    Generator init_gen(0);
    nn::TransformerEncoderLayer layer(16, 2, 32, 0.0, 1e-5, false, init_gen, nullptr);
    const std::vector<std::string> pytorch_order = {"self_attn.in_proj_weight",
                                                    "self_attn.in_proj_bias",
                                                    "self_attn.out_proj.weight",
                                                    "self_attn.out_proj.bias",
                                                    "linear1.weight",
                                                    "linear1.bias",
                                                    "linear2.weight",
                                                    "linear2.bias",
                                                    "norm1.weight",
                                                    "norm1.bias",
                                                    "norm2.weight",
                                                    "norm2.bias"};
    EXPECT_EQ(names_of(layer.state_dict()), pytorch_order);
    std::vector<std::string> stored = names_of(with_prefix(fx, "param."));
    std::vector<std::string> ours = names_of(layer.state_dict());
    std::sort(stored.begin(), stored.end());
    std::sort(ours.begin(), ours.end());
    EXPECT_EQ(ours, stored);
    EXPECT_EQ(names_of(layer.state_dict()), names_of(layer.named_parameters()));  // no buffers

    nn::TorchMultiheadAttention mha(16, 2, 0.0, init_gen, nullptr);
    EXPECT_EQ(names_of(mha.state_dict()),
              (std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}));
}

// Post-norm encoder layer, batch_first = false (PyTorch's default; input (S, B, D)) against PyTorch.
TEST_F(TransformerParity, EncoderLayerSequenceFirstMatchesPyTorch) {
    check_layer(/*batch_first=*/false, kDouble);
    check_layer(/*batch_first=*/false, kSingle);
}

// The same weights with batch_first = true (input (B, S, D)) against PyTorch.
TEST_F(TransformerParity, EncoderLayerBatchFirstMatchesPyTorch) {
    check_layer(/*batch_first=*/true, kDouble);
    check_layer(/*batch_first=*/true, kSingle);
}

// TorchMultiheadAttention (batch-first self-attention) with the layer's self_attn weights against
// torch.nn.MultiheadAttention(batch_first=True)(x', x', x') on x' = x transposed to (B, S, D), with the cotangent gy
// transposed: output and input gradient (its parameter gradients are part of the encoder layer's).
TEST_F(TransformerParity, MultiheadAttentionMatchesPyTorch) {
    for (const Precision& p : {kDouble, kSingle}) {
        SCOPED_TRACE(dtype_name(p.dtype));
        Generator init_gen(0);
        nn::TorchMultiheadAttention mha(16, 2, /*dropout=*/0.0, init_gen, nullptr);
        mha.to(p.dtype);
        mha.load_state_dict(with_prefix(fx, "param.self_attn."));
        Tensor x = leaf_from(transpose(fx.at("x"), 0, 1), p.dtype);
        Tensor y = mha.forward(x);
        EXPECT_TRUE(all_close(y, fx.at("mha/y"), p.rtol, p.atol)) << "output";
        backward(y, to(contiguous(transpose(fx.at("gy"), 0, 1)), p.dtype));
        ASSERT_TRUE(x.grad().defined());
        EXPECT_TRUE(all_close(x.grad(), fx.at("mha/gx"), p.rtol, p.atol)) << "input gradient";
        for (const auto& [name, param] : mha.named_parameters()) EXPECT_TRUE(param.grad().defined()) << name;
    }
}

// BatchNorm2d(4) against torch.nn.BatchNorm2d with the same affine weights: two train-mode steps (batch statistics,
// gradients of the first; running mean/var updated with momentum 0.1 and the unbiased batch variance,
// num_batches_tracked counting), then eval mode (running statistics, their gradients), which leaves the running
// statistics alone (on the first step's input and cotangent again).
TEST(BatchNorm2dParity, TrainThenEvalMatchesPyTorch) {
    const TensorFile fx = load_safetensors(testing::fixture_path("nn/batchnorm2d.safetensors"));
    for (const Precision& p : {kDouble, kSingle}) {
        SCOPED_TRACE(dtype_name(p.dtype));
        nn::BatchNorm2d bn(4);  // eps 1e-5, momentum 0.1: PyTorch's defaults
        bn.to(p.dtype);
        bn.load_state_dict(with_prefix(fx, "init."));  // strict: weight, bias, running stats, num_batches_tracked
        bn.train();

        // Forward on train1's input and backward with its upstream gradient: output and every
        // gradient against the fixture's `<stage>/` entries.
        const auto check_step = [&](const std::string& stage) {
            bn.zero_grad();
            Tensor x = leaf_from(fx.at("train1/x"), p.dtype);
            Tensor y = bn.forward(x);
            EXPECT_TRUE(all_close(y, fx.at(stage + "/y"), p.rtol, p.atol)) << stage << " output";
            backward(y, to(fx.at("train1/gy"), p.dtype));
            ASSERT_TRUE(x.grad().defined());
            EXPECT_TRUE(all_close(x.grad(), fx.at(stage + "/gx"), p.rtol, p.atol)) << stage << " input gradient";
            ASSERT_TRUE(bn.weight.grad().defined() && bn.bias.grad().defined());
            EXPECT_TRUE(all_close(bn.weight.grad(), fx.at(stage + "/gweight"), p.rtol, p.atol))
                << stage << " weight gradient";
            EXPECT_TRUE(all_close(bn.bias.grad(), fx.at(stage + "/gbias"), p.rtol, p.atol)) << stage << " bias gradient";
        };
        check_step("train1");

        EXPECT_TRUE(all_close(bn.forward(to(fx.at("train2/x"), p.dtype)), fx.at("train2/y"), p.rtol, p.atol))
            << "train step 2 output";
        EXPECT_TRUE(all_close(bn.running_mean, fx.at("after.running_mean"), p.rtol, p.atol));
        EXPECT_TRUE(all_close(bn.running_var, fx.at("after.running_var"), p.rtol, p.atol));
        EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), fx.at("after.num_batches_tracked").item<int64_t>());
        EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 2);

        bn.eval();
        check_step("eval");
        EXPECT_TRUE(all_close(bn.running_mean, fx.at("after.running_mean"), p.rtol, p.atol)) << "eval changed stats";
        EXPECT_TRUE(all_close(bn.running_var, fx.at("after.running_var"), p.rtol, p.atol)) << "eval changed stats";
        EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 2);
    }
}

// ---- initialisers against PyTorch's formulas ----------------------------------------------------------------------
//
// torch.nn.init (fan_in = size(1) * receptive field, fan_out = size(0) * receptive field):
//   xavier_uniform_(gain):  U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
//   xavier_normal_(gain):   N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform_(a):    U(-b, b), b = sqrt(3) * gain / sqrt(fan), gain = sqrt(2 / (1 + a^2))
//   kaiming_normal_(a):     N(0, std^2), std = gain / sqrt(fan)
// fan is fan_in by default, fan_out in fan_out mode.

struct SampleMoments {
    double mean, stddev, max_abs;
};

SampleMoments moments_of(const Tensor& t) {
    const std::vector<double> v = t.to_vector<double>();
    double total = 0.0, max_abs = 0.0;
    for (double e : v) {
        total += e;
        max_abs = std::max(max_abs, std::fabs(e));
    }
    const double mean = total / double(v.size());
    double squares = 0.0;
    for (double e : v) squares += (e - mean) * (e - mean);
    return {mean, std::sqrt(squares / double(v.size() - 1)), max_abs};
}

// The sample mean must lie within 5 standard errors (sigma / sqrt(n)) of 0 and the sample standard deviation within
// 5 of its standard errors (sigma * sqrt((kurtosis - 1) / (4 n)); kurtosis 3 for a normal, 9/5 for a uniform).
void expect_zero_mean_and_std(const Tensor& t, double sigma, double kurtosis) {
    const SampleMoments m = moments_of(t);
    const double n = double(t.numel());
    EXPECT_NEAR(m.mean, 0.0, 5.0 * sigma / std::sqrt(n));
    EXPECT_NEAR(m.stddev, sigma, 5.0 * sigma * std::sqrt((kurtosis - 1.0) / (4.0 * n)));
}

// Uniform(-bound, bound): the moments above, every value inside the bound (up to float32 rounding) and the
// extremes reaching it (with n = 131072 samples, no value in the outer 0.1% has probability e^-131).
void expect_uniform(const Tensor& t, double bound) {
    expect_zero_mean_and_std(t, bound / std::sqrt(3.0), 1.8);
    const double max_abs = moments_of(t).max_abs;
    EXPECT_LE(max_abs, bound * (1.0 + 1e-6));
    EXPECT_GE(max_abs, bound * 0.999);
}

void expect_normal(const Tensor& t, double sigma) { expect_zero_mean_and_std(t, sigma, 3.0); }

// A Linear-like weight (out 256, in 512): fan_in 512, fan_out 256.
TEST(InitFormulas, XavierUniform) {
    Generator gen(21);
    Tensor w = Tensor::empty({256, 512});
    nn::init::xavier_uniform_(w, gen);
    expect_uniform(w, std::sqrt(6.0 / (512.0 + 256.0)));
    const double relu_gain = std::sqrt(2.0);  // torch.nn.init.calculate_gain("relu")
    nn::init::xavier_uniform_(w, gen, relu_gain);
    expect_uniform(w, relu_gain * std::sqrt(6.0 / (512.0 + 256.0)));
}

TEST(InitFormulas, XavierNormal) {
    Generator gen(22);
    Tensor w = Tensor::empty({256, 512});
    nn::init::xavier_normal_(w, gen);
    expect_normal(w, std::sqrt(2.0 / (512.0 + 256.0)));
    nn::init::xavier_normal_(w, gen, 0.5);
    expect_normal(w, 0.5 * std::sqrt(2.0 / (512.0 + 256.0)));
}

// A conv weight (out 128, in 64, 4x4): fan_in 64 * 16 = 1024, fan_out 128 * 16 = 2048, so a mix-up of the two
// modes (or a forgotten receptive field) changes the spread by a factor sqrt(2) or more.
TEST(InitFormulas, KaimingUniform) {
    Generator gen(23);
    Tensor w = Tensor::empty({128, 64, 4, 4});
    nn::init::kaiming_uniform_(w, gen);  // a = 0 (ReLU): gain sqrt(2), fan_in
    expect_uniform(w, std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(1024.0));
    nn::init::kaiming_uniform_(w, gen, 0.0, /*fan_out_mode=*/true);
    expect_uniform(w, std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(2048.0));
    // a = sqrt(5), PyTorch's default for nn.Linear / nn.Conv2d weights: the bound is exactly 1 / sqrt(fan_in).
    nn::init::kaiming_uniform_(w, gen, std::sqrt(5.0));
    expect_uniform(w, 1.0 / std::sqrt(1024.0));
}

TEST(InitFormulas, KaimingNormal) {
    Generator gen(24);
    Tensor w = Tensor::empty({128, 64, 4, 4});
    nn::init::kaiming_normal_(w, gen);
    expect_normal(w, std::sqrt(2.0) / std::sqrt(1024.0));
    nn::init::kaiming_normal_(w, gen, 0.0, /*fan_out_mode=*/true);
    expect_normal(w, std::sqrt(2.0) / std::sqrt(2048.0));
    nn::init::kaiming_normal_(w, gen, 0.2);  // leaky ReLU slope 0.2: gain sqrt(2 / 1.04)
    expect_normal(w, std::sqrt(2.0 / (1.0 + 0.2 * 0.2)) / std::sqrt(1024.0));
}

// The same seed gives the same initial values; the next draw from the stream gives others.
TEST(InitFormulas, ReproducibleFromTheSeed) {
    Generator a(5), b(5);
    Tensor wa = Tensor::empty({64, 32}), wb = Tensor::empty({64, 32});
    nn::init::kaiming_normal_(wa, a);
    nn::init::kaiming_normal_(wb, b);
    EXPECT_EQ(wa.to_vector<float>(), wb.to_vector<float>());
    nn::init::kaiming_normal_(wb, b);
    EXPECT_NE(wa.to_vector<float>(), wb.to_vector<float>());
}

// ---- randperm --------------------------------------------------------------------------------------------------

// randperm(n) holds every value of 0..n-1 exactly once (int64, shape (n)), for small and empty n too.
TEST(Randperm, IsAPermutation) {
    for (const int64_t n : std::vector<int64_t>{0, 1, 2, 7, 1000}) {
        SCOPED_TRACE("n = " + std::to_string(n));
        Generator gen(11);
        const Tensor perm = randperm(n, gen);
        EXPECT_EQ(perm.dtype(), kInt64);
        EXPECT_EQ(perm.shape(), Shape{n});
        std::vector<int64_t> sorted = perm.to_vector<int64_t>();
        std::sort(sorted.begin(), sorted.end());
        std::vector<int64_t> expected(static_cast<size_t>(n));
        std::iota(expected.begin(), expected.end(), int64_t{0});
        EXPECT_EQ(sorted, expected);
    }
}

// Deterministic for a seed; another seed, or the next draw from the same generator, gives another order (for
// n = 1000 a coincidence has probability 1/1000!).
TEST(Randperm, SeededAndShuffled) {
    Generator a(5), b(5), c(6);
    const std::vector<int64_t> first = randperm(1000, a).to_vector<int64_t>();
    EXPECT_EQ(first, randperm(1000, b).to_vector<int64_t>());
    EXPECT_NE(first, randperm(1000, c).to_vector<int64_t>());
    EXPECT_NE(first, randperm(1000, a).to_vector<int64_t>());
    std::vector<int64_t> identity(1000);
    std::iota(identity.begin(), identity.end(), int64_t{0});
    EXPECT_NE(first, identity);
}

}  // namespace
}  // namespace wsol
