// The CPU backend's door to OpenBLAS: a typed GEMM, the rule that maps a strided matrix onto
// BLAS's (transpose flag, leading dimension) pair, and the threading policy for GEMMs.
//
// Layout. BLAS reads a matrix either row-major (element (i, j) at i*ld + j, "no transpose") or
// column-major (at i + j*ld, "transpose" of a row-major matrix). A strided view is one of the two
// exactly when one of its strides is 1 and the other leaves room for a full row/column, so
// transpose(w, 0, 1), a slice of columns, or a batch entry of a permuted tensor all go to BLAS
// without a copy. Only matrices that are neither (a broadcast row, a stepped slice) are copied.
//
// Threading. OpenBLAS is kept single-threaded and every GEMM is parallelised with OpenMP instead
// (parallel_gemm splits C into one block of rows or columns per thread). The reason is measured
// (bench/bench_matmul.cpp, 2 cores): the Debian OpenBLAS runs its own pthread pool, and when its
// GEMMs alternate with OpenMP regions (im2col, the bias copy, every elementwise op of a network)
// the idle threads of each pool spin while the other pool works, which made conv2d 2-10x and
// linear 1.6x slower than the same GEMMs alone. With one pool the ratio to direct OpenBLAS is
// about 1.0.
#pragma once

#include <cstdint>
#include <optional>

namespace wsol::cpu {

struct BlasMatrix {
    bool transposed;  // true: column-major storage, passed as CblasTrans of its row-major transpose
    int64_t ld;       // leading dimension in elements
};

// How BLAS can read a rows x cols matrix with the given element strides; nullopt when it cannot
// (the caller copies the matrix to a contiguous buffer first).
std::optional<BlasMatrix> blas_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride);

// C (m x n, row-major, leading dimension ldc) = alpha * op(A) op(B) + beta * C, where op(A) is
// m x k and op(B) is k x n, each read as its BlasMatrix says. T is float or double. One thread
// (safe to call from inside an OpenMP parallel region). Handles k == 0 (C = beta C).
template <class T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, BlasMatrix layout_a, const T* b, BlasMatrix layout_b,
          T beta, T* c, int64_t ldc);

// The same product on all OpenMP threads: C is cut into one block of rows (or of columns, when
// n > m) per thread and each block is one single-threaded gemm. Small products, and calls from
// inside a parallel region, run as one gemm. With `column_bias` (n values), C starts as the bias
// in every row instead of beta C (each thread fills its own block just before its gemm, while
// that block is in cache): linear's y = x W^T + b without a separate pass.
template <class T>
void parallel_gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, BlasMatrix layout_a, const T* b,
                   BlasMatrix layout_b, T beta, T* c, int64_t ldc, const T* column_bias = nullptr);

// Products of at most this many multiply-adds (m*n*k) run on one thread: below it the threads'
// start-up and the split blocks cost more than they save. It is also OpenBLAS's own threshold
// (SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4 in interface/gemm.c).
inline constexpr int64_t kSingleThreadGemm = 65536 * 4;

// Checks that a GEMM dimension or leading dimension fits BLAS's 32-bit integers; names `op`.
void check_blas_int(const char* op, int64_t value);

}  // namespace wsol::cpu
