// CPU kernels of ops/attention.h (float32, float64). ops/cuda/attention.h declares the same
// functions for the GPU. Shapes: q (B, H, Nq, D), k and v (B, H, Nk, D), gate (B, Nk) or undefined;
// the CPU kernels want every input contiguous (the op arranges that).
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// out: (B, H, Nq, D) contiguous, q's dtype. lse: (B, H, Nq) contiguous, float64 for float64 inputs
// and float32 otherwise: the natural log-sum-exp of each row of q k^T * scale.
void attention_forward(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& gate, double scale);
// dq, dk, dv: contiguous, shapes and dtype of q, k, v. dgate_heads: (B, H, Nk) contiguous in lse's
// dtype, the gate gradient of each head (the op sums over heads), or undefined when not needed.
// out and lse are the forward's results.
void attention_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads,
                        const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate,
                        const Tensor& out, const Tensor& lse, double scale);

}  // namespace wsol::cpu
