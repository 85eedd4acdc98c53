#include "models/vit/vit.h"

#include "nn/init.h"
#include "ops/ops.h"

namespace wsol::models {

ViTConfig ViTConfig::deit_tiny() {
    ViTConfig c;
    c.name = "deit_tiny_patch16_224";
    c.embed_dim = 192;
    c.num_heads = 3;
    return c;
}
ViTConfig ViTConfig::deit_small() { return ViTConfig{}; }
ViTConfig ViTConfig::deit_base() {
    ViTConfig c;
    c.name = "deit_base_patch16_224";
    c.embed_dim = 768;
    c.num_heads = 12;
    return c;
}
ViTConfig ViTConfig::by_name(const std::string& name) {
    if (name == "deit_tiny_patch16_224") return deit_tiny();
    if (name == "deit_small_patch16_224") return deit_small();
    if (name == "deit_base_patch16_224") return deit_base();
    WSOL_FAIL("unknown ViT architecture '", name,
              "' (known: deit_tiny_patch16_224, deit_small_patch16_224, deit_base_patch16_224)");
}

PatchEmbed::PatchEmbed(const ViTConfig& c, Generator& init_gen) : Module("PatchEmbed"), image_size(c.image_size) {
    WSOL_CHECK(c.image_size % c.patch_size == 0, "PatchEmbed: image size ", c.image_size,
               " is not a multiple of the patch size ", c.patch_size);
    proj = register_module("proj", std::make_shared<nn::Conv2d>(c.in_channels, c.embed_dim,
                                                                std::array<int64_t, 2>{c.patch_size, c.patch_size},
                                                                init_gen, std::array<int64_t, 2>{c.patch_size, c.patch_size}));
}

Tensor PatchEmbed::forward(const Tensor& images) const {
    WSOL_CHECK(images.dim() == 4 && images.size(2) == image_size && images.size(3) == image_size,
               "PatchEmbed: expected (B, C, ", image_size, ", ", image_size, ") images, got ", shape_str(images.shape()));
    Tensor grid = proj->forward(images);                   // (B, D, g, g)
    return transpose(flatten(grid, 2), 1, 2);              // (B, g*g, D)
}

VisionTransformer::VisionTransformer(const ViTConfig& c, uint64_t seed)
    : Module("VisionTransformer"), config_(c), gen_(std::make_shared<Generator>(seed)) {
    Generator init_gen(seed ^ 0x5eedf00dull);
    const int64_t D = c.embed_dim;
    patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>(c, init_gen));
    cls_token = register_parameter("cls_token", Tensor::zeros({1, 1, D}));
    pos_embed = register_parameter("pos_embed", Tensor::zeros({1, 1 + c.num_patches(), D}));
    auto block_list = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < c.depth; ++i) {
        const double dpr = c.depth > 1 ? c.drop_path_rate * double(i) / double(c.depth - 1) : 0.0;
        blocks.push_back(block_list->push_back(std::make_shared<nn::TransformerBlock>(
            D, c.num_heads, c.mlp_ratio, c.qkv_bias, dpr, c.eps, init_gen, gen_)));
    }
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, c.eps));
    if (c.num_classes > 0) head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes, true, init_gen));
    nn::init::trunc_normal_(pos_embed, init_gen, 0.0, 0.02);
    nn::init::trunc_normal_(cls_token, init_gen, 0.0, 0.02);
    init_vit_weights(*this, init_gen);
}

Tensor VisionTransformer::patch_tokens(const Tensor& images) const {
    Tensor patches = patch_embed->forward(images);                               // (B, P, D)
    return add(patches, narrow(pos_embed, 1, 1, config_.num_patches()));        // + pos_embed[:, 1:]
}

Tensor VisionTransformer::embed(const Tensor& images) const {
    Tensor patches = patch_embed->forward(images);
    const int64_t B = patches.size(0);
    Tensor cls = expand(cls_token, {B, 1, config_.embed_dim});
    return add(cat({cls, patches}, 1), pos_embed);
}

ViTFeatures VisionTransformer::forward_features(const Tensor& tokens,
                                                const std::vector<const nn::AttentionProbe*>& probes) const {
    ViTFeatures out;
    Tensor x = tokens;
    for (size_t i = 0; i < blocks.size(); ++i) {
        const nn::AttentionProbe* probe = i < probes.size() ? probes[i] : nullptr;
        out.blocks.push_back(blocks[i]->forward(x, probe));
        x = out.blocks.back().x;
    }
    out.tokens = norm->forward(x);
    return out;
}

Tensor VisionTransformer::forward(const Tensor& images) const {
    WSOL_CHECK(head != nullptr, "VisionTransformer: this model has no classification head (num_classes 0)");
    ViTFeatures f = forward_features(embed(images));
    return head->forward(select(f.tokens, 1, 0));
}

void init_vit_weights(nn::Module& module, Generator& gen) {
    for (auto& [name, m] : module.named_modules()) {
        if (auto* lin = dynamic_cast<nn::Linear*>(m)) {
            nn::init::trunc_normal_(lin->weight, gen, 0.0, 0.02);
            if (lin->bias.defined()) nn::init::zeros_(lin->bias);
        } else if (auto* ln = dynamic_cast<nn::LayerNorm*>(m)) {
            if (ln->weight.defined()) nn::init::ones_(ln->weight);
            if (ln->bias.defined()) nn::init::zeros_(ln->bias);
        }
    }
}

}  // namespace wsol::models
