// ViT/DeiT parity with timm: same weights, same input, same logits, block outputs and attention
// rows (tests/fixtures/models/vit_tiny.safetensors, written by tools/reference/vit_parity.py).
#include "models/vit/vit.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

models::ViTConfig tiny_config() {
    models::ViTConfig c;
    c.name = "vit_tiny_test";
    c.image_size = 32;
    c.patch_size = 8;
    c.embed_dim = 32;
    c.depth = 3;
    c.num_heads = 2;
    c.num_classes = 10;
    return c;
}

NamedTensors with_prefix(const TensorFile& file, const std::string& prefix) {
    NamedTensors out;
    for (const auto& [name, t] : file.tensors) {
        if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), t);
    }
    return out;
}

TEST(ViT, MatchesTimmOnTheSameWeights) {
    TensorFile fx = load_safetensors(testing::fixture_path("models/vit_tiny.safetensors"));
    models::VisionTransformer vit(tiny_config(), 1);
    vit.load_state_dict(with_prefix(fx, "model."));  // strict: every timm key maps to ours
    vit.eval();
    NoGradGuard no_grad;
    const Tensor x = fx.at("out.input");
    EXPECT_TRUE(all_close(vit.forward(x), fx.at("out.logits"), 0.0, 1e-4));

    nn::AttentionProbe probe;
    probe.query_rows = {0};
    probe.want_probabilities = true;
    std::vector<const nn::AttentionProbe*> probes(3, &probe);
    models::ViTFeatures f = vit.forward_features(vit.embed(x), probes);
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE("block " + std::to_string(i));
        const std::string b = "out.block" + std::to_string(i);
        EXPECT_TRUE(all_close(f.blocks[size_t(i)].x, fx.at(b + ".tokens"), 0.0, 1e-4));
        EXPECT_TRUE(all_close(f.blocks[size_t(i)].attention.score_rows, fx.at(b + ".cls_score_row"), 0.0, 1e-4));
        EXPECT_TRUE(all_close(f.blocks[size_t(i)].attention.prob_rows, fx.at(b + ".cls_prob_row"), 0.0, 1e-5));
    }
}

TEST(ViT, StateDictNamesAreTimms) {
    models::VisionTransformer vit(models::ViTConfig::deit_small(), 1);
    const NamedTensors sd = vit.state_dict();
    EXPECT_EQ(sd.size(), 4u + 12u * 12u + 2u + 2u);  // cls, pos, patch w/b; 12 per block; norm; head
    EXPECT_EQ(vit.num_parameters(), 22050664);       // deit_small_patch16_224 with a 1000-class head
    EXPECT_EQ(vit.get("blocks.11.mlp.fc2.weight").shape(), (Shape{384, 1536}));
    EXPECT_EQ(vit.get("pos_embed").shape(), (Shape{1, 197, 384}));
    EXPECT_WSOL_ERROR(models::ViTConfig::by_name("vit_huge"), "unknown ViT architecture 'vit_huge'");
}

TEST(ViT, GradientsReachEveryParameter) {
    models::VisionTransformer vit(tiny_config(), 2);
    Generator gen(5);
    Tensor x = rand_normal({2, 3, 32, 32}, gen);
    backward(sum(vit.forward(x)));
    for (auto& [name, p] : vit.named_parameters()) {
        ASSERT_TRUE(p.grad().defined()) << name;
        EXPECT_GT(sum(abs(p.grad())).item<double>(), 0.0) << name;
    }
}

}  // namespace
}  // namespace wsol
