// Scaled dot-product attention with optional key-column gating, the attention of ViT blocks and
// of the SAT / CSFN token-gated attention.
//
//   S  = q k^T * scale                      (B, H, Nq, Nk)
//   A  = softmax(S) over the keys
//   A' = A * gate[b, None, None, j]          one weight per key, shared by heads and queries;
//                                            NOT renormalised (rows of A' need not sum to 1)
//   out = A' v                               (B, H, Nq, D)
//
// q: (B, H, Nq, D), k and v: (B, H, Nk, D), any strides (e.g. views of a fused qkv projection);
// key_gate: (B, Nk) or undefined (no gating). All on one device, one floating dtype. Backends:
// CPU (float32, float64: OpenBLAS GEMMs per (b, h)) and CUDA (float32, bfloat16: fused
// flash-attention-style kernels, head dim up to 128). Under bf16 autocast (ops/autocast.h) float32
// CUDA inputs are cast to bfloat16 and the result is bfloat16.
//
// Backward (written next to the forward in ops/attention.cpp):
//   dv = A'^T dout,   dA' = dout v^T,   dgate[b, j] = sum_{h, i} A[b,h,i,j] dA'[b,h,i,j],
//   dS = A (gate * dA' - rowsum(A' * dA')),   dq = scale dS k,   dk = scale dS^T q.
// The forward saves only the log-sum-exp of each row of S; the backward recomputes A from it.
//
// The head-averaged raw score rows of chosen query tokens that SAT/CSFN read as localisation maps
// are not produced here: the models compute them with ordinary matmul ops from q and k.
#pragma once

#include "engine/tensor.h"

namespace wsol {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& key_gate = {});

}  // namespace wsol
