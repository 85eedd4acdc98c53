// SAT: "Spatial-Aware Token for Weakly Supervised Object Localization" (Wu et al., ICCV 2023), as
// its released code (wpy1999/SAT, Model/SAT.py) computes it. Specification:
// ../shared/reference/sat_csfn.md, Part A.
//
// A DeiT backbone gets one more token, the spatial token, appended after the patches with its own
// position embedding. In every block, the raw attention scores of the spatial token's query row,
// averaged over heads and passed through a sigmoid, form a foreground map over all keys:
//     m^l_j = sigmoid( mean_h S^l[b, h, N-1, j] ).
// In the last three blocks this map gates the keys of the whole attention (A' = softmax(S) m^l, no
// renormalisation). The localisation map is the mean of the last three blocks' maps over the patch
// keys (14x14). Classification ignores the class token: a 3x3 convolution maps the patch tokens to
// class maps, averaged into logits. Training adds two map losses to cross-entropy:
//     batch area loss     | mean_b mean(M_b) - eps |          (eps 0.25 CUB, 0.35 ILSVRC)
//     normalisation loss  mean_b mean((1 - G*M_b) (G*M_b))   (G: a fixed 3x3 Gaussian)
#pragma once

#include "models/vit/vit.h"

namespace wsol::models {

struct SATConfig {
    ViTConfig vit = ViTConfig::deit_small();  // vit.num_classes is ignored (SAT has its own head)
    int64_t num_classes = 200;
    int64_t gated_blocks = 3;  // the last blocks whose spatial map gates attention and forms M
    double area_threshold = 0.25;  // eps of the batch area loss
};

struct SATOutput {
    Tensor logits;         // (B, C)
    Tensor map;            // (B, g, g): M, the mean of the gated blocks' spatial maps (patches only)
    Tensor class_maps;     // (B, C, g, g): the conv head's output before pooling
    Tensor area;           // (B): mean of M per image
    Tensor norm_term;      // (B): mean of (1 - G*M) (G*M) per image
    std::vector<Tensor> block_maps;  // per block (B, N): sigmoid of the spatial token's score row
};

struct SATLosses {
    Tensor cls, batch_area, norm, total;  // scalars
};

class SAT : public VisionTransformer {
public:
    // The backbone is initialised as timm's ViT; loc_token and loc_embed trunc-normal 0.02; the
    // conv head keeps PyTorch's default Conv2d init (SAT's init routine touches only Linear and
    // LayerNorm). Then a DeiT checkpoint is usually loaded on top (load_backbone).
    SAT(const SATConfig& config, uint64_t seed);
    SATOutput forward(const Tensor& images) const;
    SATLosses losses(const SATOutput& out, const Tensor& labels) const;

    const SATConfig& sat_config() const { return sat_config_; }

    Tensor loc_token;   // (1, 1, D) the spatial token
    Tensor loc_embed;   // (1, 1, D) its position embedding
    Tensor gaussian;    // (1, 1, 3, 3) fixed smoothing kernel, state-dict name "weight"
    std::shared_ptr<nn::Conv2d> conv_head;  // state-dict name "head": 3x3, D -> C, padding 1

private:
    SATConfig sat_config_;
};

// SAT's 3x3 Gaussian: the 1-D kernel is the mass of a unit normal over kernlen = 3 equal intervals
// spanning [-(nsig + i/2), nsig + i/2] with nsig = 6 and interval i = (2 nsig + 1) / kernlen; the
// 2-D kernel is the square root of the outer product, normalised to sum 1. Gives corners
// 0.0026284619, edge centres 0.0460116034, centre 0.8054397389.
Tensor sat_gaussian_kernel();

}  // namespace wsol::models
