// Transformer pieces: timm's multi-head self-attention and pre-norm block (ViT/DeiT), and PyTorch's
// post-norm nn.TransformerEncoderLayer (CSFN's cross-image encoder). Parameter names match the
// originals so that public checkpoints load by name.
//
// The WSOL methods reach into attention in two ways, both expressed by an AttentionProbe:
//  - they read the head-averaged raw score rows S = q k^T * scale of chosen query tokens (SAT's
//    spatial token, CSFN's two tokens) or the head-averaged softmax rows (TS-CAM's class token);
//  - they gate the key columns of the attention with a per-key weight computed from those rows
//    (SAT/CSFN, blocks 9-11: A' = softmax(S) * m[b, j], without renormalisation).
#pragma once

#include <functional>
#include <vector>

#include "nn/layers.h"

namespace wsol::nn {

struct AttentionProbe {
    std::vector<int64_t> query_rows;  // token indices whose rows are returned (may be negative: from the end)
    bool want_probabilities = false;  // also return head-averaged softmax rows of those queries
    // Given the head-averaged raw score rows (B, R, N), returns the key gate (B, N), or an
    // undefined tensor for plain attention in this block.
    std::function<Tensor(const Tensor& score_rows)> key_gate;
};

struct AttentionOutput {
    Tensor out;         // (B, N, D)
    Tensor score_rows;  // (B, R, N) mean over heads of q_r k^T * scale; undefined without a probe
    Tensor prob_rows;   // (B, R, N) mean over heads of softmax rows; only if want_probabilities
    Tensor key_gate;    // (B, N) the gate that was applied, if any
};

// timm's Attention: qkv = Linear(D, 3D, qkv_bias) with rows ordered [q; k; v], each split into
// heads; scale head_dim^-0.5; proj = Linear(D, D).
class MultiheadSelfAttention : public Module {
public:
    MultiheadSelfAttention(int64_t dim, int64_t num_heads, bool qkv_bias, Generator& init_gen, GeneratorPtr gen,
                           double attn_drop = 0.0, double proj_drop = 0.0);
    AttentionOutput forward(const Tensor& x, const AttentionProbe* probe = nullptr) const;
    std::shared_ptr<Linear> qkv, proj;
    std::shared_ptr<Dropout> attn_drop, proj_drop;
    int64_t num_heads, head_dim;
    double scale;
};

struct BlockOutput {
    Tensor x;  // (B, N, D) the block's output tokens
    AttentionOutput attention;
};

// timm's pre-norm Block: x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))).
class TransformerBlock : public Module {
public:
    TransformerBlock(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop_path, double eps,
                     Generator& init_gen, GeneratorPtr gen);
    BlockOutput forward(const Tensor& x, const AttentionProbe* probe = nullptr) const;
    std::shared_ptr<LayerNorm> norm1, norm2;
    std::shared_ptr<MultiheadSelfAttention> attn;
    std::shared_ptr<DropPath> drop_path;
    std::shared_ptr<Mlp> mlp;
};

// torch.nn.MultiheadAttention's parameters (in_proj_weight (3D, D), in_proj_bias, out_proj) for
// self-attention, with dropout on the attention probabilities.
class TorchMultiheadAttention : public Module {
public:
    TorchMultiheadAttention(int64_t dim, int64_t num_heads, double dropout, Generator& init_gen, GeneratorPtr gen);
    Tensor forward(const Tensor& x) const;  // (B, N, D) batch-first
    Tensor in_proj_weight, in_proj_bias;
    std::shared_ptr<Linear> out_proj;
    std::shared_ptr<Dropout> drop;
    int64_t num_heads;
};

// torch.nn.TransformerEncoderLayer with norm_first = false (post-norm), activation GELU:
// x = norm1(x + drop(attn(x))); x = norm2(x + drop(linear2(drop(gelu(linear1(x)))))).
// batch_first = false means the input is (S, B, D), PyTorch's default (and CSFN's setting).
class TransformerEncoderLayer : public Module {
public:
    TransformerEncoderLayer(int64_t dim, int64_t num_heads, int64_t feedforward, double dropout, double eps,
                            bool batch_first, Generator& init_gen, GeneratorPtr gen);
    Tensor forward(const Tensor& x) const;
    std::shared_ptr<TorchMultiheadAttention> self_attn;
    std::shared_ptr<Linear> linear1, linear2;
    std::shared_ptr<LayerNorm> norm1, norm2;
    std::shared_ptr<Dropout> dropout, dropout1, dropout2;
    bool batch_first;
};

}  // namespace wsol::nn
