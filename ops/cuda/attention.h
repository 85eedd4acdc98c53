// CUDA kernels of ops/attention.h, with the signatures of the CPU kernels (ops/cpu/attention.h).
// float32 and bfloat16 inputs (float32 accumulation, float32 lse and dgate_heads), head dim up to
// 128. q, k, v, gate and dout may have any strides; outputs are contiguous.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

void attention_forward(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& gate, double scale);
void attention_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads,
                        const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate,
                        const Tensor& out, const Tensor& lse, double scale);

}  // namespace wsol::cuda
