// Vision Transformer as DeiT defines it (timm's deit_{tiny,small,base}_patch16_224): a 16x16/16
// patch-embedding convolution, a class token, learned position embeddings, pre-norm blocks with
// qkv bias, LayerNorm eps 1e-6, exact GELU, scale head_dim^-0.5, a final norm and a linear head on
// the class token. Parameter names are timm's, so DeiT checkpoints load by name.
//
// The WSOL methods build on it without copying it: they call the steps one by one -
// patch_tokens(), then their own token layout (extra tokens with their own position embeddings),
// then blocks (with an AttentionProbe per block to read score rows and gate keys), then norm.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/transformer.h"

namespace wsol::models {

struct ViTConfig {
    std::string name = "deit_small_patch16_224";
    int64_t image_size = 224;
    int64_t patch_size = 16;
    int64_t in_channels = 3;
    int64_t embed_dim = 384;
    int64_t depth = 12;
    int64_t num_heads = 6;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;
    double eps = 1e-6;
    int64_t num_classes = 1000;  // 0: no head
    double drop_path_rate = 0.0; // linearly spaced from 0 to this over the blocks

    int64_t grid() const { return image_size / patch_size; }
    int64_t num_patches() const { return grid() * grid(); }

    static ViTConfig deit_tiny();   // D 192, 3 heads
    static ViTConfig deit_small();  // D 384, 6 heads
    static ViTConfig deit_base();   // D 768, 12 heads
    // By timm name: "deit_tiny_patch16_224", "deit_small_patch16_224", "deit_base_patch16_224".
    static ViTConfig by_name(const std::string& name);
};

class PatchEmbed : public nn::Module {
public:
    PatchEmbed(const ViTConfig& config, Generator& init_gen);
    Tensor forward(const Tensor& images) const;  // (B, 3, H, W) -> (B, P, D), patches row-major
    std::shared_ptr<nn::Conv2d> proj;
    int64_t image_size;
};

struct ViTFeatures {
    Tensor tokens;                       // (B, N, D) after the final norm
    std::vector<nn::BlockOutput> blocks; // per block: output tokens and attention probe results
};

class VisionTransformer : public nn::Module {
public:
    // Initialised as timm does (trunc-normal 0.02 for Linear weights and the position embedding,
    // zero biases, unit LayerNorms); `seed` drives the initialisation and the dropout/drop-path
    // stream (generator()).
    VisionTransformer(const ViTConfig& config, uint64_t seed);

    // (B, 3, H, W) -> patch tokens with their position embeddings added: (B, P, D).
    Tensor patch_tokens(const Tensor& images) const;
    // The standard token sequence [cls, patches] with position embeddings: (B, 1 + P, D).
    Tensor embed(const Tensor& images) const;
    // Runs the blocks and the final norm. probes[i] (may be null, or the vector shorter) is
    // passed to block i.
    ViTFeatures forward_features(const Tensor& tokens, const std::vector<const nn::AttentionProbe*>& probes = {}) const;
    // Class logits from the class token: (B, num_classes).
    Tensor forward(const Tensor& images) const;

    const ViTConfig& config() const { return config_; }
    const nn::GeneratorPtr& generator() const { return gen_; }

    std::shared_ptr<PatchEmbed> patch_embed;
    Tensor cls_token;  // (1, 1, D)
    Tensor pos_embed;  // (1, 1 + P, D)
    std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> head;  // null when num_classes == 0

private:
    ViTConfig config_;
    nn::GeneratorPtr gen_;
};

// timm's weight init for a ViT-like module tree: Linear weights trunc_normal(0.02) and zero bias,
// LayerNorm weight 1 and bias 0. Convolutions keep their default init.
void init_vit_weights(nn::Module& module, Generator& gen);

}  // namespace wsol::models
