// SAT as a training/evaluation method: the model of models/sat, its three losses, and M as the
// localisation map (class-agnostic; the same map for every class).
#include "models/sat/sat.h"
#include "ops/ops.h"
#include "train/method_registry.h"

namespace wsol::train {

namespace {

class SATMethod final : public Method {
public:
    SATMethod(const models::SATConfig& config, nlohmann::json description, uint64_t seed)
        : model_(config, seed), description_(std::move(description)) {}

    std::string name() const override { return "sat"; }
    nn::Module& model() override { return model_; }

    LossTerms losses(const Tensor& images, const Tensor& labels) override {
        models::SATOutput out = model_.forward(images);
        models::SATLosses l = model_.losses(out, labels);
        return {l.total, {{"cls", l.cls}, {"area", l.batch_area}, {"norm", l.norm}}, out.logits};
    }

    Prediction predict(const Tensor& images) override {
        models::SATOutput out = model_.forward(images);
        return {out.logits, out.map};
    }

    nlohmann::json describe() const override { return description_; }

    // SAT's intended no-decay list (only effective in our recipes: the released code's optimizer
    // was built on a wrapper that hid it, see sat_csfn.md A4).
    std::set<std::string> no_weight_decay() const override {
        return {"pos_embed", "cls_token", "loc_embed", "loc_token"};
    }

    Generator& generator() override { return *model_.generator(); }

private:
    models::SAT model_;
    nlohmann::json description_;
};

}  // namespace

std::unique_ptr<Method> make_sat(const nlohmann::json& d, uint64_t seed) {
    check_known_keys(d,
                     {"method", "architecture", "embed_dim", "depth", "num_heads", "patch_size", "mlp_ratio",
                      "image_size", "drop_path", "num_classes", "area_threshold", "gated_blocks"},
                     "sat");
    models::SATConfig c;
    c.vit = vit_config_from(d);
    c.num_classes = d.at("num_classes").get<int64_t>();
    c.area_threshold = d.value("area_threshold", 0.25);
    c.gated_blocks = d.value("gated_blocks", int64_t(3));
    WSOL_CHECK(c.num_classes > 0, "sat: num_classes must be positive, got ", c.num_classes);
    nlohmann::json full = d;
    full["architecture"] = d.value("architecture", std::string("deit_small_patch16_224"));
    full["image_size"] = c.vit.image_size;
    full["area_threshold"] = c.area_threshold;
    full["gated_blocks"] = c.gated_blocks;
    full["drop_path"] = c.vit.drop_path_rate;
    return std::make_unique<SATMethod>(c, full, seed);
}

}  // namespace wsol::train
