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
// (parallel_gemm deals one block of rows or columns of C to each thread). The Debian OpenBLAS
// runs its own pthread pool, and when its GEMMs alternate with OpenMP regions (im2col, the bias
// copy, every elementwise op of a network) the idle threads of each pool spin while the other
// pool works. Measured with bench/bench_matmul.cpp on the shared 2-core development machine:
// with both pools, conv2d took 3-10x and linear 1.6-1.8x the time of the same GEMMs alone
// (1.05-1.1x once OpenMP was told not to spin, OMP_WAIT_POLICY=passive, which a library cannot
// set for its host program). With one pool the engine is within 5% of direct OpenBLAS on one
// thread (25% for a 3x3 convolution: the im2col copy).
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
