// CUDA kernels of ops/attention.h, with the signatures of the CPU kernels (ops/cpu/attention.h).
// float32 and bfloat16 inputs (float32 accumulation, float32 lse and dgate_heads), head dim up to
// 128. q, k, v, gate and dout may have any strides; outputs are contiguous.
//
// Two implementations: CUDA-core kernels (every dtype; ops/cuda/attention.cu) and, for bfloat16,
// tensor-core kernels (WMMA, ops/cuda/attention_tc.cu), used by default. The environment variable
// WSOL_ATTENTION_SIMT=1 (read once) or set_attention_tensor_cores(false) selects the CUDA-core
// kernels for bfloat16 too; the tests run both.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

void attention_forward(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& gate, double scale);
void attention_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads,
                        const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate,
                        const Tensor& out, const Tensor& lse, double scale);

// Whether bfloat16 attention uses the tensor-core kernels (default true). Process-wide.
bool attention_tensor_cores();
void set_attention_tensor_cores(bool enabled);

}  // namespace wsol::cuda
