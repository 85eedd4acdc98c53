// SAT against a PyTorch reference written from the specification (tools/reference/sat_reference.py):
// same weights -> same maps, logits, loss terms and parameter gradients.
#include "models/sat/sat.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

models::SATConfig tiny_sat() {
    models::SATConfig c;
    c.vit.image_size = 32;
    c.vit.patch_size = 8;
    c.vit.embed_dim = 16;
    c.vit.depth = 4;
    c.vit.num_heads = 2;
    c.num_classes = 5;
    c.gated_blocks = 3;
    c.area_threshold = 0.25;
    return c;
}

TEST(SAT, GaussianKernelMatchesTheSpec) {
    // Values from the reference note (sat_csfn.md A3).
    const std::vector<float> k = models::sat_gaussian_kernel().to_vector<float>();
    EXPECT_NEAR(k[0], 0.0026284619, 1e-9);
    EXPECT_NEAR(k[1], 0.0460116034, 1e-8);
    EXPECT_NEAR(k[4], 0.8054397389, 1e-7);
}

TEST(SAT, MatchesPyTorchReference) {
    TensorFile fx = load_safetensors(testing::fixture_path("models/sat_tiny.safetensors"));
    models::SAT sat(tiny_sat(), 3);
    NamedTensors state;
    for (const auto& [name, t] : fx.tensors) {
        if (name.rfind("model.", 0) == 0) state.emplace_back(name.substr(6), t);
    }
    sat.load_state_dict(state);
    sat.train();  // drop-path rate is 0: training and evaluation forward agree
    models::SATOutput out = sat.forward(fx.at("out.input"));
    models::SATLosses losses = sat.losses(out, fx.at("out.labels"));
    EXPECT_TRUE(all_close(out.logits, fx.at("out.logits"), 0.0, 1e-4));
    EXPECT_TRUE(all_close(out.map, fx.at("out.map"), 0.0, 1e-5));
    EXPECT_TRUE(all_close(out.area, fx.at("out.area"), 0.0, 1e-5));
    EXPECT_TRUE(all_close(out.norm_term, fx.at("out.norm_term"), 0.0, 1e-5));
    for (size_t l = 0; l < out.block_maps.size(); ++l) {
        EXPECT_TRUE(all_close(out.block_maps[l], fx.at("out.block_map" + std::to_string(l)), 0.0, 1e-5)) << l;
    }
    EXPECT_NEAR(losses.cls.item<double>(), fx.at("out.loss_cls").item<double>(), 1e-5);
    EXPECT_NEAR(losses.batch_area.item<double>(), fx.at("out.loss_area").item<double>(), 1e-6);
    EXPECT_NEAR(losses.norm.item<double>(), fx.at("out.loss_norm").item<double>(), 1e-6);
    EXPECT_NEAR(losses.total.item<double>(), fx.at("out.loss_total").item<double>(), 1e-5);

    backward(losses.total);
    int checked = 0;
    for (auto& [name, p] : sat.named_parameters()) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(fx.contains("grad." + name));
        ASSERT_TRUE(p.grad().defined());
        EXPECT_TRUE(all_close(p.grad(), fx.at("grad." + name), 0.0, 1e-4));
        ++checked;
    }
    EXPECT_EQ(checked, int(sat.named_parameters().size()));
}

TEST(SAT, StateDictMatchesReleasedCheckpointKeys) {
    models::SATConfig c;  // DeiT-S, 200 classes (CUB)
    models::SAT sat(c, 1);
    const NamedTensors sd = sat.state_dict();
    // sat_csfn.md D2: every DeiT key plus loc_token, loc_embed, weight, head.{weight,bias} (C,384,3,3).
    EXPECT_EQ(sat.get("head.weight").shape(), (Shape{200, 384, 3, 3}));
    EXPECT_EQ(sat.get("weight").shape(), (Shape{1, 1, 3, 3}));
    EXPECT_EQ(sat.get("loc_embed").shape(), (Shape{1, 1, 384}));
    EXPECT_EQ(sd.size(), 4u + 12u * 12u + 2u + 2u + 3u);
    // Parameter counts (D2): backbone 21,665,664 + tokens and head ~= 22.36 M for CUB.
    EXPECT_EQ(sat.num_parameters(), 21665664 + 2 * 384 + 200 * 384 * 9 + 200);
}

}  // namespace
}  // namespace wsol
