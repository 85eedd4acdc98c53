// CPU kernel of the matmul family (ops/linalg.h): batched GEMM through OpenBLAS.
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// out (..., M, N) = a (..., M, K) @ b (..., K, N), or out += a @ b when `accumulate`.
// `out` is contiguous; a and b have out's batch shape already (broadcast batch axes are expanded
// views with stride 0) and may have any strides. float32 or float64, all three the same dtype.
void matmul(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate = false);

}  // namespace wsol::cpu
