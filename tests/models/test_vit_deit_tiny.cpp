// DeiT at its real shapes against timm. The weights of timm's deit_tiny_patch16_224 (12 blocks, 197
// tokens, 192 channels, 3 heads of 64, 1000 classes) and the input come from a formula computed here
// and in tools/reference/deit_tiny_formula.py bit for bit; the fixture holds only timm's outputs
// (logits and each block's class-token attention rows). deit_timm_keys.json, from the same script,
// holds timm's key names, shapes and parameter counts for DeiT tiny, small and base.
#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/file_util.h"
#include "models/vit/vit.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

uint32_t fnv1a(const std::string& name) {
    uint32_t h = 0x811C9DC5u;
    for (unsigned char c : name) h = (h ^ c) * 0x01000193u;
    return h;
}

// The formula of deit_tiny_formula.py: a hash of the element index salted by the name, as a dyadic
// value in [-0.5, 0.5) (exact in float32), times scale, plus offset.
Tensor formula(const std::string& name, const Shape& shape, float scale, float offset = 0.0f) {
    std::vector<float> v(size_t(shape_numel(shape)));
    const uint32_t salt = fnv1a(name);
    for (size_t i = 0; i < v.size(); ++i) {
        uint32_t h = uint32_t(uint64_t(i) * 2654435761u) + salt;  // mod 2^32
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        const float u = float(h >> 8) * 0x1p-24f - 0.5f;
        v[i] = u * scale + offset;  // u * scale is exact: one rounding, fused or not
    }
    return Tensor::from_vector(v, shape);
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Tensor weight_for(const std::string& name, const Shape& shape) {
    if (ends_with(name, "norm1.weight") || ends_with(name, "norm2.weight") || ends_with(name, "norm.weight")) {
        return formula(name, shape, 0.25f, 1.0f);
    }
    return formula(name, shape, 0.125f);
}

TEST(DeiTTiny, MatchesTimmAtFullSize) {
    const TensorFile fx = load_safetensors(testing::fixture_path("models/deit_tiny_formula.safetensors"));
    models::VisionTransformer vit(models::ViTConfig::by_name("deit_tiny_patch16_224"), 1);
    NamedTensors weights;
    for (const auto& [name, t] : vit.state_dict()) weights.emplace_back(name, weight_for(name, t.shape()));
    vit.load_state_dict(weights);
    vit.eval();
    // The generator itself first: the same numbers as the script's.
    EXPECT_TRUE(all_close(narrow(reshape(vit.get("blocks.5.attn.qkv.weight"), {-1}), 0, 0, 64), fx.at("weight_check"),
                          0.0, 0.0));
    const Tensor x = formula("input", {2, 3, 224, 224}, 4.0f);
    EXPECT_TRUE(all_close(narrow(reshape(x, {-1}), 0, 0, 64), fx.at("input_check"), 0.0, 0.0));

    NoGradGuard no_grad;
    nn::AttentionProbe probe;
    probe.query_rows = {0};
    probe.want_probabilities = true;
    const std::vector<const nn::AttentionProbe*> probes(12, &probe);
    const models::ViTFeatures f = vit.forward_features(vit.embed(x), probes);
    for (int i = 0; i < 12; ++i) {
        SCOPED_TRACE("block " + std::to_string(i));
        const std::string b = "block" + std::to_string(i);
        EXPECT_TRUE(all_close(f.blocks[size_t(i)].attention.score_rows, fx.at(b + ".cls_score_row"), 0.0, 1e-4));
        EXPECT_TRUE(all_close(f.blocks[size_t(i)].attention.prob_rows, fx.at(b + ".cls_prob_row"), 0.0, 1e-5));
    }
    const Tensor logits = vit.forward(x);
    // The check is not vacuous: timm's logits are O(1) (std ~0.5) and differ per image.
    double square_sum = 0.0;
    for (float v : fx.at("logits").to_vector<float>()) square_sum += double(v) * v;
    EXPECT_GT(std::sqrt(square_sum / double(fx.at("logits").numel())), 0.1);
    EXPECT_TRUE(all_close(logits, fx.at("logits"), 0.0, 1e-4));
}

// Our DeiT configs against timm's state dicts: the same names in the same order, the same shapes,
// the same parameter count. (A checkpoint we export is then loadable by timm with strict=True.)
TEST(DeiT, EveryConfigHasTimmsKeysAndShapes) {
    const nlohmann::json timm = nlohmann::json::parse(read_file(testing::fixture_path("models/deit_timm_keys.json")));
    for (const char* arch : {"deit_tiny_patch16_224", "deit_small_patch16_224", "deit_base_patch16_224"}) {
        SCOPED_TRACE(arch);
        const nlohmann::json& expected = timm.at("models").at(arch);
        models::VisionTransformer vit(models::ViTConfig::by_name(arch), 1);
        const NamedTensors sd = vit.state_dict();
        ASSERT_EQ(sd.size(), expected.at("keys").size());
        for (size_t i = 0; i < sd.size(); ++i) {
            EXPECT_EQ(sd[i].first, expected["keys"][i][0].get<std::string>());
            EXPECT_EQ(sd[i].second.shape(), expected["keys"][i][1].get<Shape>()) << sd[i].first;
        }
        EXPECT_EQ(vit.num_parameters(), expected.at("parameters").get<int64_t>());
    }
}

}  // namespace
}  // namespace wsol
