// Matrix multiplication on the GPU through cuBLASLt: the raw API that matmul, linear and the
// attention/MLP blocks call. Row-major tensors, optional transposes, batched with strides, and
// the fused epilogues cuBLASLt offers for training an MLP.
//
//   C = alpha * op(A) op(B) + beta * C          op(X) = X or X^T
//
//   A: (..., M, K), or (..., K, M) with transpose_a
//   B: (..., K, N), or (..., N, K) with transpose_b
//   C: (..., M, N)
//
// Leading (batch) axes: C's define the batch; A and B either have the same ones or none (one
// matrix shared by the whole batch, e.g. a weight). Each matrix must have unit stride along its
// last axis; rows may be padded (any row stride >= the row length) and batch axes must merge into
// one uniform stride. Anything else is an error naming the shapes and strides - make the operand
// contiguous() first.
//
// dtypes (A and B equal):
//   float32  x float32  -> float32   exact float32 products; TF32 tensor cores when allow_tf32()
//   bfloat16 x bfloat16 -> bfloat16 or float32, float32 accumulation
//   float64  x float64  -> float64
//
// Epilogues (batch of 1 only; bias vectors contiguous; `aux` a contiguous (M, N) tensor of C's
// dtype). GELU here is cuBLASLt's GELU, the tanh approximation (GeluApproximation::Tanh):
//   Bias          C = alpha op(A) op(B) + beta C + bias[n]             bias: (N), a linear layer
//   BiasGelu      C = gelu(alpha op(A) op(B) + beta C + bias[n])
//   BiasGeluAux   the same, and aux = the GELU input (kept for the backward pass)
//   DGelu         C = (alpha op(A) op(B) + beta C) * gelu'(aux)      the MLP's hidden gradient
//   DGeluBiasGrad the same, and bias[n] = sum over the M rows of C    (bias is an output, (N))
//   BiasGradA     bias[m] = sum_k op(A)[m, k]    (bias output, (M)): with op(A) = dY^T this is
//                 the bias gradient of the layer whose weight gradient C = dY^T X computes
//   BiasGradB     bias[n] = sum_k op(B)[k, n]    (bias output, (N))
// (In cuBLASLt's column-major frame C^T = op(B)^T op(A)^T, so BiasGradA is its BGRADB and
// BiasGradB its BGRADA.) cuBLASLt supports each epilogue only for some dtypes and layouts; when it
// has no algorithm for a request, the error names the request.
//
// The algorithm for each distinct request (shapes, strides, dtypes, alignment, epilogue, TF32) is
// chosen once by cuBLASLt's heuristic and cached; the workspace (32 MiB, NVIDIA's suggestion for
// Hopper) comes from the caching allocator.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

enum class GemmEpilogue { None, Bias, BiasGelu, BiasGeluAux, DGelu, DGeluBiasGrad, BiasGradA, BiasGradB };

const char* gemm_epilogue_name(GemmEpilogue epilogue);

struct GemmOptions {
    bool transpose_a = false;
    bool transpose_b = false;
    double alpha = 1.0;
    double beta = 0.0;  // C is read only when beta != 0
    GemmEpilogue epilogue = GemmEpilogue::None;
    Tensor bias;  // input for Bias*, output for *BiasGrad*
    Tensor aux;   // output for BiasGeluAux, input for DGelu*
};

void gemm(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& options = {});

// The same, for a caller that has another way to do the work (e.g. linear without the bias
// epilogue): returns false, having done nothing, when cuBLASLt offers no algorithm for the request
// (remembered per request, so the heuristic is asked once). Every other failure throws, as gemm.
bool try_gemm(const Tensor& c, const Tensor& a, const Tensor& b, const GemmOptions& options = {});

// Number of distinct requests whose algorithm is cached (for tests and diagnostics).
size_t gemm_plan_cache_size();

}  // namespace wsol::cuda
