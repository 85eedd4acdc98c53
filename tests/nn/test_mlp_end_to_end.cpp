// The engine end to end on the smallest real task: an MLP trained with SGD on a synthetic 2-D
// classification problem (three interleaved spirals). Same initial weights and data as PyTorch
// (tools/reference/mlp_sgd.py): the loss at each of 20 steps must match PyTorch's to 1e-5, and
// training on must reach 100% training accuracy.
#include "nn/layers.h"
#include "nn/optim.h"
#include "support/testing.h"

namespace wsol {
namespace {

class SpiralMlp : public nn::Module {
public:
    explicit SpiralMlp(Generator& gen) : Module("Sequential") {
        l0 = register_module("0", std::make_shared<nn::Linear>(2, 32, true, gen));
        l2 = register_module("2", std::make_shared<nn::Linear>(32, 32, true, gen));
        l4 = register_module("4", std::make_shared<nn::Linear>(32, 3, true, gen));
    }
    Tensor forward(const Tensor& x) const { return l4->forward(tanh(l2->forward(tanh(l0->forward(x))))); }
    std::shared_ptr<nn::Linear> l0, l2, l4;
};

TEST(EndToEnd, MlpMatchesPyTorchAndFitsTheSpirals) {
    const TensorFile fx = load_safetensors(testing::fixture_path("nn/mlp_sgd.safetensors"));
    Generator gen(0);
    SpiralMlp mlp(gen);
    NamedTensors init;
    for (const auto& [name, t] : fx.tensors) {
        if (name.rfind("init.", 0) == 0) init.emplace_back(name.substr(5), t);
    }
    mlp.load_state_dict(init);
    nn::SGD sgd(nn::make_param_groups(mlp.named_parameters(), 0.5, 0.0), nn::SGDOptions{0.9, 0.0, false});
    sgd.set_lr(0.5);
    const Tensor x = fx.at("x"), y = fx.at("y");
    const std::vector<double> expected = fx.at("losses").to_vector<double>();
    for (size_t step = 0; step < expected.size(); ++step) {
        sgd.zero_grad();
        Tensor loss = cross_entropy(mlp.forward(x), y);
        EXPECT_NEAR(loss.item<double>(), expected[step], 1e-5) << "step " << step;
        backward(loss);
        sgd.step();
    }
    double accuracy = 0.0;
    for (int step = 0; step < 2000 && accuracy < 1.0; ++step) {
        sgd.zero_grad();
        Tensor logits = mlp.forward(x);
        backward(cross_entropy(logits, y));
        sgd.step();
        NoGradGuard g;
        accuracy = mean(to(eq(argmax(mlp.forward(x), 1), y), kFloat64)).item<double>();
    }
    EXPECT_EQ(accuracy, 1.0);
}

}  // namespace
}  // namespace wsol
