// A plain DeiT classifier as a method: cross-entropy on the class-token logits, and as its
// localisation map the attention of the class token to the patches in the last block (averaged over
// heads) - the simplest transformer baseline, and what a converted timm/DeiT checkpoint evaluates as.
#include "models/vit/vit.h"
#include "ops/ops.h"
#include "train/method_registry.h"

namespace wsol::train {

namespace {

class ViTMethod final : public Method {
public:
    ViTMethod(const models::ViTConfig& config, nlohmann::json description, uint64_t seed)
        : model_(config, seed), description_(std::move(description)) {}

    std::string name() const override { return "vit"; }
    nn::Module& model() override { return model_; }

    LossTerms losses(const Tensor& images, const Tensor& labels) override {
        Tensor logits = model_.forward(images);
        Tensor cls = cross_entropy(logits, labels);
        return {cls, {{"cls", cls}}, logits};
    }

    Prediction predict(const Tensor& images) override {
        const models::ViTConfig& c = model_.config();
        nn::AttentionProbe probe;
        probe.query_rows = {0};
        probe.want_probabilities = true;
        std::vector<const nn::AttentionProbe*> probes(size_t(c.depth), nullptr);
        probes.back() = &probe;
        models::ViTFeatures f = model_.forward_features(model_.embed(images), probes);
        Tensor logits = model_.head->forward(select(f.tokens, 1, 0));
        Tensor rows = select(f.blocks.back().attention.prob_rows, 1, 0);  // (B, 1 + P)
        const int64_t B = images.size(0), g = c.grid();
        return {logits, reshape(narrow(rows, 1, 1, c.num_patches()), {B, g, g})};
    }

    nlohmann::json describe() const override { return description_; }
    std::set<std::string> no_weight_decay() const override { return {"pos_embed", "cls_token"}; }
    Generator& generator() override { return *model_.generator(); }

private:
    models::VisionTransformer model_;
    nlohmann::json description_;
};

}  // namespace

std::unique_ptr<Method> make_vit(const nlohmann::json& d, uint64_t seed) {
    check_known_keys(d, {"method", "architecture", "embed_dim", "depth", "num_heads", "patch_size", "mlp_ratio",
                         "image_size", "drop_path", "num_classes"},
                     "vit");
    models::ViTConfig c = vit_config_from(d);
    c.num_classes = d.at("num_classes").get<int64_t>();
    WSOL_CHECK(c.num_classes > 0, "vit: num_classes must be positive, got ", c.num_classes);
    nlohmann::json full = d;
    full["architecture"] = d.value("architecture", std::string("deit_small_patch16_224"));
    full["image_size"] = c.image_size;
    full["drop_path"] = c.drop_path_rate;
    return std::make_unique<ViTMethod>(c, full, seed);
}

}  // namespace wsol::train
