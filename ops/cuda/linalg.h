// CUDA kernels of the matmul family (ops/linalg.h), with the signatures of the CPU kernels
// (ops/cpu/linalg.h), through cuBLASLt (ops/cuda/gemm.h). float32 (TF32 tensor cores when
// allow_tf32(), ops/autocast.h), bfloat16 (float32 accumulation) and float64.
//
// Operands reach cuBLASLt without copies whenever their layout allows: a matrix whose last axis
// has unit stride is read as is, one whose second-to-last axis has unit stride (a transposed view:
// W^T, A^T in the backward passes) as the transpose of its storage, and batch axes that merge into
// one uniform stride - or are broadcast with stride 0, like a weight shared by a batch - become a
// strided batch. Anything else (e.g. heads split out of a fused qkv tensor, whose batch axes do
// not merge) is first copied to a contiguous tensor.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

// out (..., M, N) = a (..., M, K) @ b (..., K, N), or out += a @ b when `accumulate`. out is
// contiguous; a and b have out's batch shape (broadcast batch axes as stride-0 views), any strides.
void matmul(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate = false);
// out (rows, O) = x (rows, I) @ weight (O, I)^T + bias (O): one GEMM with cuBLASLt's bias epilogue
// (float64: the bias is written into out first and the GEMM adds onto it). bias may be undefined.
void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias);
// out (O) = sum over rows of g (rows, O) contiguous: linear's bias gradient (a deterministic
// column reduction, ops/cuda/reduce.h).
void sum_rows(const Tensor& out, const Tensor& g);

}  // namespace wsol::cuda
