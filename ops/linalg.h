// Matrix products: matmul (NumPy/PyTorch semantics), bmm and linear.
//
// matmul(a, b) follows torch.matmul:
//   (K) @ (K)             -> ()        dot product
//   (M, K) @ (K, N)       -> (M, N)
//   (K) @ (..., K, N)     -> (..., N)  a is treated as a (1, K) row, then that axis is dropped
//   (..., M, K) @ (K)     -> (..., M)  b is treated as a (K, 1) column, then that axis is dropped
//   (..., M, K) @ (..., K, N) -> (..., M, N), the batch axes broadcast like elementwise ops.
// Backward: dA = dC B^T, dB = A^T dC, summed over the batch axes along which an operand was
// broadcast. Operands must share a floating dtype (float32 or float64 on the CPU).
#pragma once

#include "engine/tensor.h"

namespace wsol {

Tensor matmul(const Tensor& a, const Tensor& b);
// Batched product of two 3-D tensors with equal batch size: (B, M, K) @ (B, K, N) -> (B, M, N).
Tensor bmm(const Tensor& a, const Tensor& b);
// y = x W^T + b for x (..., in), weight (out, in), bias (out) or undefined -> y (..., out).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace wsol
