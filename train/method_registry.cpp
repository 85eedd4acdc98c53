#include "train/method_registry.h"

namespace wsol::train {

const std::vector<MethodEntry>& method_registry() {
    static const std::vector<MethodEntry> table = {
        {"sat", make_sat},
        {"vit", make_vit},
    };
    return table;
}

void check_known_keys(const nlohmann::json& description, const std::set<std::string>& known, const char* method) {
    for (auto it = description.begin(); it != description.end(); ++it) {
        WSOL_CHECK(known.count(it.key()) > 0, method, " model description: unknown key \"", it.key(), "\"");
    }
}

models::ViTConfig vit_config_from(const nlohmann::json& d) {
    const std::string arch = d.value("architecture", std::string("deit_small_patch16_224"));
    models::ViTConfig c;
    if (arch == "custom") {
        c.name = "custom";
        c.embed_dim = d.at("embed_dim").get<int64_t>();
        c.depth = d.at("depth").get<int64_t>();
        c.num_heads = d.at("num_heads").get<int64_t>();
        c.patch_size = d.value("patch_size", int64_t(16));
        c.mlp_ratio = d.value("mlp_ratio", 4.0);
    } else {
        c = models::ViTConfig::by_name(arch);
    }
    c.image_size = d.value("image_size", c.image_size);
    c.drop_path_rate = d.value("drop_path", 0.0);
    WSOL_CHECK(c.image_size > 0 && c.image_size % c.patch_size == 0, "model description: image_size ", c.image_size,
               " must be a positive multiple of the patch size ", c.patch_size);
    return c;
}

}  // namespace wsol::train
