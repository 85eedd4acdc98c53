#include "models/sat/sat.h"

#include <cmath>

#include "nn/init.h"
#include "ops/ops.h"

namespace wsol::models {

Tensor sat_gaussian_kernel() {
    const int kernlen = 3;
    const double nsig = 6.0;
    const double interval = (2 * nsig + 1.0) / kernlen;
    auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
    double edges[kernlen + 1];
    for (int i = 0; i <= kernlen; ++i) {
        edges[i] = -nsig - interval / 2.0 + (2 * nsig + interval) * double(i) / kernlen;
    }
    double k1[kernlen];
    for (int i = 0; i < kernlen; ++i) k1[i] = cdf(edges[i + 1]) - cdf(edges[i]);
    std::vector<double> k2(kernlen * kernlen);
    double total = 0.0;
    for (int r = 0; r < kernlen; ++r) {
        for (int c = 0; c < kernlen; ++c) total += k2[size_t(r * kernlen + c)] = std::sqrt(k1[r] * k1[c]);
    }
    std::vector<float> out;
    for (double v : k2) out.push_back(float(v / total));
    return Tensor::from_vector<float>(out, {1, 1, kernlen, kernlen});
}

namespace {
ViTConfig backbone_config(const SATConfig& c) {
    ViTConfig v = c.vit;
    v.num_classes = 0;  // SAT replaces the linear head by its conv head
    return v;
}
}  // namespace

SAT::SAT(const SATConfig& config, uint64_t seed) : VisionTransformer(backbone_config(config), seed), sat_config_(config) {
    WSOL_CHECK(config.gated_blocks >= 1 && config.gated_blocks <= config.vit.depth, "SAT: gated_blocks ",
               config.gated_blocks, " must be in [1, depth ", config.vit.depth, "]");
    Generator init_gen(seed ^ 0x5a7ull);
    const int64_t D = config.vit.embed_dim;
    loc_token = register_parameter("loc_token", Tensor::zeros({1, 1, D}));
    loc_embed = register_parameter("loc_embed", Tensor::zeros({1, 1, D}));
    gaussian = register_buffer("weight", sat_gaussian_kernel());
    conv_head = register_module("head", std::make_shared<nn::Conv2d>(D, config.num_classes, std::array<int64_t, 2>{3, 3},
                                                                      init_gen, std::array<int64_t, 2>{1, 1},
                                                                      std::array<int64_t, 2>{1, 1}));
    nn::init::trunc_normal_(loc_token, init_gen, 0.0, 0.02);
    nn::init::trunc_normal_(loc_embed, init_gen, 0.0, 0.02);
}

SATOutput SAT::forward(const Tensor& images) const {
    const ViTConfig& c = config();
    const int64_t B = images.size(0), D = c.embed_dim, g = c.grid(), P = c.num_patches();
    // Token layout: [cls, 196 patches, spatial token], each with its position embedding.
    Tensor patches = patch_embed->forward(images);                             // (B, P, D)
    Tensor tokens = cat({expand(cls_token, {B, 1, D}), patches, expand(loc_token, {B, 1, D})}, 1);
    tokens = add(tokens, cat({pos_embed, loc_embed}, 1));                       // (B, N, D), N = P + 2

    // Every block reports the spatial token's head-averaged score row; the last gated_blocks
    // blocks also gate their keys with its sigmoid.
    const int64_t first_gated = c.depth - sat_config_.gated_blocks;
    std::vector<nn::AttentionProbe> probes(size_t(c.depth));
    std::vector<const nn::AttentionProbe*> probe_ptrs;
    for (int64_t l = 0; l < c.depth; ++l) {
        probes[size_t(l)].query_rows = {-1};
        if (l >= first_gated) {
            probes[size_t(l)].key_gate = [](const Tensor& rows) { return sigmoid(select(rows, 1, 0)); };
        }
        probe_ptrs.push_back(&probes[size_t(l)]);
    }
    ViTFeatures f = forward_features(tokens, probe_ptrs);

    SATOutput out;
    for (const nn::BlockOutput& b : f.blocks) {
        // The gated blocks computed the map already (it is their gate); reuse it.
        out.block_maps.push_back(b.attention.key_gate.defined() ? b.attention.key_gate
                                                                : sigmoid(select(b.attention.score_rows, 1, 0)));
    }
    // Classification from the patch tokens through the 3x3 conv head.
    Tensor grid = reshape(permute(narrow(f.tokens, 1, 1, P), {0, 2, 1}), {B, D, g, g});
    out.class_maps = conv_head->forward(grid);                                  // (B, C, g, g)
    out.logits = mean(out.class_maps, {2, 3});

    // M: the mean of the gated blocks' maps over the patch keys.
    std::vector<Tensor> last;
    for (int64_t l = first_gated; l < c.depth; ++l) last.push_back(narrow(out.block_maps[size_t(l)], 1, 1, P));
    Tensor M = mean(stack(last, 0), {0});                                       // (B, P)
    out.map = reshape(M, {B, g, g});
    Tensor smooth = conv2d(reshape(M, {B, 1, g, g}), gaussian, Tensor(), {1, 1}, {1, 1}, {1, 1}, 1);
    out.area = mean(M, {1});
    out.norm_term = mean(reshape(mul(rsub(1.0, smooth), smooth), {B, P}), {1});
    return out;
}

SATLosses SAT::losses(const SATOutput& out, const Tensor& labels) const {
    SATLosses l;
    l.cls = cross_entropy(out.logits, labels);
    // The absolute value of the batch-mean area, not a mean of per-image absolute values.
    l.batch_area = abs(sub(mean(out.area), sat_config_.area_threshold));
    l.norm = mean(out.norm_term);
    l.total = add(add(l.cls, l.batch_area), l.norm);
    return l;
}

}  // namespace wsol::models
