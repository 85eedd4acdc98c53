#include "nn/init.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

// A two-level module used to check naming, order, state and mode handling.
class Leaf : public nn::Module {
public:
    Leaf() : Module("Leaf") {
        weight = register_parameter("weight", Tensor::zeros({2, 3}));
        bias = register_parameter("bias", Tensor::zeros({2}));
        running = register_buffer("running", Tensor::zeros({2}));
        scratch = register_buffer("scratch", Tensor::zeros({1}), /*persistent=*/false);
    }
    Tensor weight, bias, running, scratch;
};

class Tree : public nn::Module {
public:
    Tree() : Module("Tree") {
        token = register_parameter("token", Tensor::zeros({1, 1, 3}));
        first = register_module("first", std::make_shared<Leaf>());
        second = register_module("second", std::make_shared<Leaf>());
    }
    Tensor token;
    std::shared_ptr<Leaf> first, second;
};

std::vector<std::string> names_of(const NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& [name, t] : list) out.push_back(name);
    return out;
}

TEST(Module, NamesFollowPyTorchOrder) {
    Tree tree;
    EXPECT_EQ(names_of(tree.state_dict()),
              (std::vector<std::string>{"token", "first.weight", "first.bias", "first.running", "second.weight",
                                        "second.bias", "second.running"}));
    EXPECT_EQ(names_of(tree.named_parameters()).size(), 5u);
    EXPECT_EQ(tree.num_parameters(), 3 + 2 * (6 + 2));
    EXPECT_TRUE(tree.first->weight.requires_grad());
    EXPECT_TRUE(tree.get("second.bias").is_same(tree.second->bias));
    EXPECT_WSOL_ERROR(tree.get("third.bias"), "no parameter or buffer named 'third.bias'");
    EXPECT_NE(tree.summary().find("(first): Leaf weight(2,3)"), std::string::npos);
}

TEST(Module, RegistrationErrors) {
    Leaf leaf;
    EXPECT_WSOL_ERROR(leaf.register_parameter("weight", Tensor::zeros({1})), "registered twice");
    EXPECT_WSOL_ERROR(leaf.register_buffer("a.b", Tensor::zeros({1})), "bad member name");
}

TEST(Module, TrainEvalIsRecursive) {
    Tree tree;
    tree.eval();
    EXPECT_FALSE(tree.second->is_training());
    tree.train();
    EXPECT_TRUE(tree.first->is_training());
}

TEST(Module, LoadStateDictStrictAndLenient) {
    Tree source, target;
    {
        NoGradGuard g;
        fill_(source.first->weight, 1.5);
        fill_(source.second->running, 7.0);
    }
    target.load_state_dict(source.state_dict());
    EXPECT_EQ(target.first->weight.to_vector<float>(), std::vector<float>(6, 1.5f));
    EXPECT_EQ(target.second->running.to_vector<float>(), std::vector<float>(2, 7.0f));

    NamedTensors partial = source.state_dict();
    partial.erase(partial.begin());                                  // drop "token" -> missing
    partial.emplace_back("extra", Tensor::zeros({1}));               // unexpected
    partial[0].second = Tensor::zeros({3, 3});                       // first.weight -> mismatched
    Tree fresh;
    EXPECT_WSOL_ERROR(fresh.load_state_dict(partial), "missing keys (1):\n  token");
    // Strict failure wrote nothing.
    EXPECT_EQ(fresh.second->running.to_vector<float>(), std::vector<float>(2, 0.0f));
    nn::LoadReport report = fresh.load_state_dict(partial, /*strict=*/false);
    EXPECT_EQ(report.missing, std::vector<std::string>{"token"});
    EXPECT_EQ(report.unexpected, std::vector<std::string>{"extra"});
    ASSERT_EQ(report.mismatched.size(), 1u);
    EXPECT_NE(report.mismatched[0].find("first.weight: state (3,3) vs module (2,3)"), std::string::npos);
    EXPECT_EQ(fresh.second->running.to_vector<float>(), std::vector<float>(2, 7.0f));  // matching keys loaded
}

TEST(Module, ToDtypeKeepsHandles) {
    Tree tree;
    Tensor held = tree.first->weight;
    tree.to(kFloat64);
    EXPECT_EQ(held.dtype(), kFloat64);
    EXPECT_TRUE(held.requires_grad());
    EXPECT_EQ(tree.first->running.dtype(), kFloat64);
}

TEST(Init, DefaultLayerInitBounds) {
    Generator gen(3);
    Tensor w = Tensor::empty({64, 32, 3, 3});
    Tensor b = Tensor::empty({64});
    nn::init::default_layer_init(w, b, gen);
    const double bound = 1.0 / std::sqrt(32.0 * 9.0);
    for (float v : w.to_vector<float>()) ASSERT_LE(std::fabs(v), bound + 1e-7);
    for (float v : b.to_vector<float>()) ASSERT_LE(std::fabs(v), bound + 1e-7);
    EXPECT_EQ(nn::init::fan_in(w), 288);
    EXPECT_EQ(nn::init::fan_out(w), 576);
    Tensor t = Tensor::empty({10000});
    nn::init::trunc_normal_(t, gen, 0.0, 0.02);
    EXPECT_NEAR(std::sqrt(var(to(t, kFloat64)).item<double>()), 0.02, 0.001);
}

TEST(Schedule, Shapes) {
    nn::WarmupCosineLR cosine(1.0, 10, 110, 0.1);
    EXPECT_DOUBLE_EQ(cosine.lr_at(0), 0.0);
    EXPECT_DOUBLE_EQ(cosine.lr_at(5), 0.5);
    EXPECT_DOUBLE_EQ(cosine.lr_at(10), 1.0);
    EXPECT_NEAR(cosine.lr_at(60), 0.55, 1e-12);  // half way down the cosine: (1 + 0.1) / 2
    EXPECT_DOUBLE_EQ(cosine.lr_at(500), 0.1);
    nn::StepLR step(1.0, 3, 0.5);
    EXPECT_DOUBLE_EQ(step.lr_at(2), 1.0);
    EXPECT_DOUBLE_EQ(step.lr_at(3), 0.5);
    EXPECT_WSOL_ERROR(nn::WarmupCosineLR(1.0, 20, 10), "WarmupCosineLR");
}

// ---- optimizers against PyTorch ----------------------------------------------------------------

class OptimizerParity : public ::testing::Test {
protected:
    TensorFile fx = load_safetensors(testing::fixture_path("nn/optim.safetensors"));

    void run(const std::string& name, const std::function<std::unique_ptr<nn::Optimizer>(std::vector<nn::ParamGroup>)>& make) {
        SCOPED_TRACE(name);
        Tensor p = clone(fx.at("p0")).set_requires_grad(true);
        Tensor b = clone(fx.at("b0")).set_requires_grad(true);
        std::vector<nn::ParamGroup> groups = {{{{"p", p}}, 0.0, 0.05, 1.0}, {{{"b", b}}, 0.0, 0.0, 1.0}};
        auto opt = make(std::move(groups));
        for (int t = 0; t < 5; ++t) {
            p.set_grad(clone(fx.at("grad" + std::to_string(t))));
            b.set_grad(clone(fx.at("bgrad" + std::to_string(t))));
            opt->step();
            EXPECT_TRUE(all_close(p, fx.at(name + "/p" + std::to_string(t)), 1e-12, 1e-14)) << "step " << t;
            EXPECT_TRUE(all_close(b, fx.at(name + "/b" + std::to_string(t)), 1e-12, 1e-14)) << "step " << t;
        }
    }
};

TEST_F(OptimizerParity, AdamWAndSGDMatchPyTorchInFloat64) {
    run("adamw", [](auto g) {
        auto opt = std::make_unique<nn::AdamW>(std::move(g));
        opt->set_lr(1e-2);
        return opt;
    });
    run("sgd", [](auto g) {
        auto opt = std::make_unique<nn::SGD>(std::move(g));
        opt->set_lr(0.1);
        return opt;
    });
    run("sgd_momentum", [](auto g) {
        auto opt = std::make_unique<nn::SGD>(std::move(g), nn::SGDOptions{0.9, 0.1, false});
        opt->set_lr(0.1);
        return opt;
    });
    run("sgd_nesterov", [](auto g) {
        auto opt = std::make_unique<nn::SGD>(std::move(g), nn::SGDOptions{0.9, 0.0, true});
        opt->set_lr(0.1);
        return opt;
    });
}

// Save after two steps, rebuild a fresh optimizer over the same parameters, load, continue: the
// parameters come out bit-identical to an optimizer that never stopped. For AdamW (moments, step
// count) and SGD with momentum, plain and Nesterov (momentum buffers, step count).
TEST_F(OptimizerParity, StateRoundTripContinuesIdentically) {
    using Factory = std::function<std::unique_ptr<nn::Optimizer>(Tensor, Tensor)>;
    const std::vector<std::pair<std::string, Factory>> optimizers = {
        {"adamw", [](Tensor p, Tensor b) { return std::make_unique<nn::AdamW>(std::vector<nn::ParamGroup>{{{{"p", p}, {"b", b}}, 1e-2, 0.05, 1.0}}); }},
        {"sgd", [](Tensor p, Tensor b) { return std::make_unique<nn::SGD>(std::vector<nn::ParamGroup>{{{{"p", p}, {"b", b}}, 1e-2, 0.05, 1.0}}, nn::SGDOptions{0.9, 0.1, false}); }},
        {"sgd_nesterov", [](Tensor p, Tensor b) { return std::make_unique<nn::SGD>(std::vector<nn::ParamGroup>{{{{"p", p}, {"b", b}}, 1e-2, 0.0, 1.0}}, nn::SGDOptions{0.9, 0.0, true}); }},
    };
    for (const auto& [label, make] : optimizers) {
        SCOPED_TRACE(label);
        auto make_params = [&] {
            return std::pair{clone(fx.at("p0")).set_requires_grad(true), clone(fx.at("b0")).set_requires_grad(true)};
        };
        auto [p1, b1] = make_params();
        auto [p2, b2] = make_params();
        std::unique_ptr<nn::Optimizer> straight = make(p1, b1), first = make(p2, b2);
        auto step = [&](nn::Optimizer& opt, Tensor& p, Tensor& b, int t) {
            p.set_grad(clone(fx.at("grad" + std::to_string(t))));
            b.set_grad(clone(fx.at("bgrad" + std::to_string(t))));
            opt.step();
        };
        for (int t = 0; t < 2; ++t) {
            step(*straight, p1, b1, t);
            step(*first, p2, b2, t);
        }
        const NamedTensors saved = first->state();
        EXPECT_FALSE(saved.empty());
        const std::string bytes = serialize_safetensors(saved);
        std::unique_ptr<nn::Optimizer> resumed = make(p2, b2);
        resumed->load_state(parse_safetensors(bytes, "state").tensors);
        EXPECT_EQ(resumed->steps_taken(), 2);
        for (int t = 2; t < 5; ++t) {
            step(*straight, p1, b1, t);
            step(*resumed, p2, b2, t);
        }
        EXPECT_EQ(p1.to_vector<double>(), p2.to_vector<double>());  // bit-identical
        EXPECT_EQ(b1.to_vector<double>(), b2.to_vector<double>());
        // A state that does not fit the parameters is refused.
        NamedTensors wrong = saved;
        for (auto& [name, t] : wrong) {
            if (t.dim() > 0 && t.numel() > 1) t = Tensor::zeros({t.numel() + 1}, t.dtype());
        }
        std::unique_ptr<nn::Optimizer> refuses = make(p2, b2);
        EXPECT_THROW(refuses->load_state(wrong), Error);
    }
}

TEST(ParamGroups, DecayRule) {
    Tree tree;
    auto groups = nn::make_param_groups(tree.named_parameters(), 1e-3, 0.05, {"token"});
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(names_of(groups[0].params), (std::vector<std::string>{"first.weight", "second.weight"}));
    EXPECT_EQ(groups[1].weight_decay, 0.0);
    EXPECT_EQ(names_of(groups[1].params), (std::vector<std::string>{"token", "first.bias", "second.bias"}));
    // Without the explicit list, a 3-D token is decayed (SAT's released-code quirk).
    auto quirk = nn::make_param_groups(tree.named_parameters(), 1e-3, 0.05);
    EXPECT_EQ(names_of(quirk[0].params).front(), "token");
}

TEST_F(OptimizerParity, ClipGradNorm) {
    Tensor p = clone(fx.at("p0")).set_requires_grad(true);
    Tensor b = clone(fx.at("b0")).set_requires_grad(true);
    p.set_grad(clone(fx.at("grad0")));
    b.set_grad(clone(fx.at("bgrad0")));
    const double norm = nn::clip_grad_norm_({p, b}, 1.0);
    EXPECT_NEAR(norm, fx.at("clip/norm").item<double>(), 1e-12);
    EXPECT_TRUE(all_close(p.grad(), fx.at("clip/p_grad"), 1e-12, 1e-14));
    EXPECT_TRUE(all_close(b.grad(), fx.at("clip/b_grad"), 1e-12, 1e-14));
}

}  // namespace
}  // namespace wsol

#include "nn/checkpoint.h"

namespace wsol {
namespace {

TEST(Checkpoint, RoundTripAndValidation) {
    const std::string path = ::testing::TempDir() + "/wsol_ckpt.safetensors";
    nn::Checkpoint ckpt;
    ckpt.model = {{"w", Tensor::from_vector<float>({1, 2}, {2})}};
    ckpt.optim = {{"steps", Tensor::scalar<int64_t>(3)}};
    ckpt.meta["architecture"] = "deit_tiny_patch16_224";
    nn::save_checkpoint(path, ckpt);
    EXPECT_TRUE(nn::is_wsol_checkpoint(path));
    nn::Checkpoint back = nn::load_checkpoint(path);
    ASSERT_EQ(back.model.size(), 1u);
    EXPECT_EQ(back.model[0].first, "w");
    EXPECT_EQ(back.optim[0].second.item<int64_t>(), 3);
    EXPECT_EQ(back.meta["architecture"], "deit_tiny_patch16_224");
    EXPECT_EQ(back.meta["version"], nn::kCheckpointVersion);

    save_safetensors(path, {{"w", Tensor::zeros({1})}});
    EXPECT_FALSE(nn::is_wsol_checkpoint(path));
    EXPECT_WSOL_ERROR(nn::load_checkpoint(path), "not a wsol checkpoint");
    save_safetensors(path, {{"model.w", Tensor::zeros({1})}}, {{"wsol", R"({"format":"wsol-checkpoint","version":99})"}});
    EXPECT_WSOL_ERROR(nn::load_checkpoint(path), "checkpoint version 99 is not supported");
    std::remove(path.c_str());
}

}  // namespace
}  // namespace wsol
