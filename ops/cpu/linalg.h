// CPU kernel of the matmul family (ops/linalg.h): batched GEMM through OpenBLAS.
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// out (..., M, N) = a (..., M, K) @ b (..., K, N), or out += a @ b when `accumulate`.
// `out` is contiguous; a and b have out's batch shape already (broadcast batch axes are expanded
// views with stride 0) and may have any strides. float32 or float64, all three the same dtype.
void matmul(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate = false);

// out (rows, O) = x (rows, I) @ weight (O, I)^T + bias (O), bias optional (undefined). out is
// contiguous; x, weight and bias may have any strides. The bias is written into each thread's
// block of out just before its GEMM accumulates onto it.
void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias);
// out (O) = sum over rows of g (rows, O): linear's bias gradient. g contiguous; sums in double.
void sum_rows(const Tensor& out, const Tensor& g);

}  // namespace wsol::cpu
