#include "nn/transformer.h"

#include <cmath>

#include "nn/init.h"
#include "ops/ops.h"

namespace wsol::nn {

namespace {

// (B, N, 3D) -> q, k, v each (B, H, N, Dh): the last axis is [q | k | v], each split into heads.
std::array<Tensor, 3> split_heads(const Tensor& qkv, int64_t num_heads) {
    const int64_t B = qkv.size(0), N = qkv.size(1), D = qkv.size(2) / 3;
    Tensor t = permute(reshape(qkv, {B, N, 3, num_heads, D / num_heads}), {2, 0, 3, 1, 4});  // (3, B, H, N, Dh)
    return {select(t, 0, 0), select(t, 0, 1), select(t, 0, 2)};
}

// (B, H, N, Dh) -> (B, N, H*Dh)
Tensor merge_heads(const Tensor& x) {
    const int64_t B = x.size(0), N = x.size(2);
    return reshape(transpose(x, 1, 2), {B, N, x.size(1) * x.size(3)});
}

// Plain softmax attention with dropout on the probabilities (used only when that dropout is on;
// otherwise the fused attention op runs).
Tensor attention_with_dropout(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Dropout& drop) {
    Tensor probs = softmax(mul(matmul(q, transpose(k, -2, -1)), scale), -1);
    return matmul(drop.forward(probs), v);
}

}  // namespace

// ---- timm attention and block ------------------------------------------------------------------

MultiheadSelfAttention::MultiheadSelfAttention(int64_t dim, int64_t heads, bool qkv_bias, Generator& init_gen,
                                               GeneratorPtr gen, double attn_drop_p, double proj_drop_p)
    : Module("Attention"), num_heads(heads), head_dim(dim / heads), scale(1.0 / std::sqrt(double(dim / heads))) {
    WSOL_CHECK(heads > 0 && dim % heads == 0, "Attention: dim ", dim, " is not divisible by ", heads, " heads");
    qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias, init_gen));
    attn_drop = register_module("attn_drop", std::make_shared<Dropout>(attn_drop_p, gen));
    proj = register_module("proj", std::make_shared<Linear>(dim, dim, true, init_gen));
    proj_drop = register_module("proj_drop", std::make_shared<Dropout>(proj_drop_p, gen));
}

AttentionOutput MultiheadSelfAttention::forward(const Tensor& x, const AttentionProbe* probe) const {
    WSOL_CHECK(x.dim() == 3, "Attention: expected (B, N, D), got ", shape_str(x.shape()));
    const int64_t N = x.size(1);
    auto [q, k, v] = split_heads(qkv->forward(x), num_heads);
    AttentionOutput result;
    if (probe && !probe->query_rows.empty()) {
        std::vector<int64_t> rows;
        for (int64_t r : probe->query_rows) rows.push_back(r < 0 ? r + N : r);
        Tensor index = Tensor::from_vector<int64_t>(rows, {int64_t(rows.size())}, x.device());
        // Raw scores of the chosen queries against every key, per head: (B, H, R, N).
        Tensor rows_scores = mul(matmul(index_select(q, 2, index), transpose(k, -2, -1)), scale);
        result.score_rows = mean(rows_scores, {1});  // (B, R, N)
        if (probe->want_probabilities) result.prob_rows = mean(softmax(rows_scores, -1), {1});
        if (probe->key_gate) result.key_gate = probe->key_gate(result.score_rows);
    }
    Tensor heads;
    if (attn_drop->p > 0.0 && is_training()) {
        WSOL_CHECK(!result.key_gate.defined(), "Attention: key gating with attention dropout is not supported");
        heads = attention_with_dropout(q, k, v, scale, *attn_drop);
    } else {
        heads = attention(q, k, v, scale, result.key_gate);
    }
    result.out = proj_drop->forward(proj->forward(merge_heads(heads)));
    return result;
}

TransformerBlock::TransformerBlock(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop_path_p,
                                   double eps, Generator& init_gen, GeneratorPtr gen)
    : Module("Block") {
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim, eps));
    attn = register_module("attn", std::make_shared<MultiheadSelfAttention>(dim, num_heads, qkv_bias, init_gen, gen));
    drop_path = register_module("drop_path", std::make_shared<DropPath>(drop_path_p, gen));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim, eps));
    mlp = register_module("mlp", std::make_shared<Mlp>(dim, int64_t(double(dim) * mlp_ratio), dim, init_gen, gen));
}

BlockOutput TransformerBlock::forward(const Tensor& x, const AttentionProbe* probe) const {
    BlockOutput out;
    out.attention = attn->forward(norm1->forward(x), probe);
    const AddLayerNorm h = norm2->forward_add(x, drop_path->forward(out.attention.out));  // h and norm2(h), one pass
    out.x = add(h.sum, drop_path->forward(mlp->forward(h.normed)));
    return out;
}

// ---- PyTorch's TransformerEncoderLayer -------------------------------------------------------

TorchMultiheadAttention::TorchMultiheadAttention(int64_t dim, int64_t heads, double dropout_p, Generator& init_gen,
                                                 GeneratorPtr gen)
    : Module("MultiheadAttention"), num_heads(heads) {
    WSOL_CHECK(heads > 0 && dim % heads == 0, "MultiheadAttention: dim ", dim, " is not divisible by ", heads, " heads");
    // PyTorch: in_proj_weight xavier_uniform, in_proj_bias and out_proj.bias zero.
    in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * dim, dim}));
    in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * dim}));
    out_proj = register_module("out_proj", std::make_shared<Linear>(dim, dim, true, init_gen));
    drop = register_module("dropout", std::make_shared<Dropout>(dropout_p, std::move(gen)));
    init::xavier_uniform_(in_proj_weight, init_gen);
    init::zeros_(out_proj->bias);
}

Tensor TorchMultiheadAttention::forward(const Tensor& x) const {
    auto [q, k, v] = split_heads(linear(x, in_proj_weight, in_proj_bias), num_heads);
    const double scale = 1.0 / std::sqrt(double(q.size(-1)));
    Tensor heads = drop->p > 0.0 && is_training() ? attention_with_dropout(q, k, v, scale, *drop)
                                                  : attention(q, k, v, scale, Tensor());
    return out_proj->forward(merge_heads(heads));
}

TransformerEncoderLayer::TransformerEncoderLayer(int64_t dim, int64_t num_heads, int64_t feedforward, double dropout_p,
                                                 double eps, bool batch_first_, Generator& init_gen, GeneratorPtr gen)
    : Module("TransformerEncoderLayer"), batch_first(batch_first_) {
    self_attn = register_module("self_attn",
                                std::make_shared<TorchMultiheadAttention>(dim, num_heads, dropout_p, init_gen, gen));
    linear1 = register_module("linear1", std::make_shared<Linear>(dim, feedforward, true, init_gen));
    dropout = register_module("dropout", std::make_shared<Dropout>(dropout_p, gen));
    linear2 = register_module("linear2", std::make_shared<Linear>(feedforward, dim, true, init_gen));
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim, eps));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim, eps));
    dropout1 = register_module("dropout1", std::make_shared<Dropout>(dropout_p, gen));
    dropout2 = register_module("dropout2", std::make_shared<Dropout>(dropout_p, gen));
}

Tensor TransformerEncoderLayer::forward(const Tensor& input) const {
    WSOL_CHECK(input.dim() == 3, "TransformerEncoderLayer: expected a 3-D input, got ", shape_str(input.shape()));
    Tensor x = batch_first ? input : transpose(input, 0, 1);  // work batch-first: (B, S, D)
    x = norm1->forward_add(x, dropout1->forward(self_attn->forward(x))).normed;
    Tensor ff = linear2->forward(dropout->forward(gelu(linear1->forward(x))));
    x = norm2->forward_add(x, dropout2->forward(ff)).normed;
    return batch_first ? x : transpose(x, 0, 1);
}

}  // namespace wsol::nn
