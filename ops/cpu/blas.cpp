// OpenBLAS wrappers and the GEMM threading policy (see ops/cpu/blas.h).
#include "ops/cpu/blas.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>

#include "engine/error.h"

namespace wsol::cpu {

std::optional<BlasMatrix> blas_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    // A size-1 axis may carry any stride (PyTorch and our views leave it arbitrary), so it never
    // disqualifies a layout; the leading dimension must still be at least the row/column length.
    const bool row_major = (cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= std::max<int64_t>(cols, 1));
    if (row_major) return BlasMatrix{false, rows <= 1 ? std::max<int64_t>(cols, 1) : row_stride};
    const bool col_major = (rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= std::max<int64_t>(rows, 1));
    if (col_major) return BlasMatrix{true, cols <= 1 ? std::max<int64_t>(rows, 1) : col_stride};
    return std::nullopt;
}

void check_blas_int(const char* op, int64_t value) {
    WSOL_CHECK(value <= INT_MAX, op, ": size or stride ", value, " exceeds the 32-bit integers of BLAS");
}

namespace {

CBLAS_TRANSPOSE trans(BlasMatrix m) { return m.transposed ? CblasTrans : CblasNoTrans; }

// OpenBLAS reads OMP_NUM_THREADS at load time and would start its own pool; every GEMM of the
// engine runs on OpenMP threads instead (see the header), so BLAS is pinned to one thread before
// the first call. A function-local static: initialised once, thread-safely.
void pin_blas_to_one_thread() {
    static const bool pinned = [] {
        openblas_set_num_threads(1);
        return true;
    }();
    (void)pinned;
}

template <class T>
void scale_rows(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    }
}

void blas_call(int m, int n, int k, float alpha, const float* a, BlasMatrix la, const float* b, BlasMatrix lb,
               float beta, float* c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans(la), trans(lb), m, n, k, alpha, a, int(la.ld), b, int(lb.ld), beta, c, ldc);
}

void blas_call(int m, int n, int k, double alpha, const double* a, BlasMatrix la, const double* b, BlasMatrix lb,
               double beta, double* c, int ldc) {
    cblas_dgemm(CblasRowMajor, trans(la), trans(lb), m, n, k, alpha, a, int(la.ld), b, int(lb.ld), beta, c, ldc);
}

}  // namespace

template <class T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, BlasMatrix la, const T* b, BlasMatrix lb, T beta, T* c,
          int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) return scale_rows(m, n, beta, c, ldc);
    pin_blas_to_one_thread();
    blas_call(int(m), int(n), int(k), alpha, a, la, b, lb, beta, c, int(ldc));
}

namespace {

// One block of parallel_gemm: rows [r0, r0 + rows) and columns [c0, c0 + cols) of C.
template <class T>
void gemm_block(int64_t r0, int64_t rows, int64_t c0, int64_t cols, int64_t k, T alpha, const T* a, BlasMatrix la,
                const T* b, BlasMatrix lb, T beta, T* c, int64_t ldc, const T* column_bias) {
    // Row r of op(A) starts at a + r*ld (row-major) or a + r (column-major); column j of op(B)
    // at b + j (row-major) or b + j*ld (column-major).
    const T* a_block = la.transposed ? a + r0 : a + r0 * la.ld;
    const T* b_block = lb.transposed ? b + c0 * lb.ld : b + c0;
    T* c_block = c + r0 * ldc + c0;
    if (column_bias) {
        for (int64_t i = 0; i < rows; ++i) std::copy(column_bias + c0, column_bias + c0 + cols, c_block + i * ldc);
        beta = T(1);
    }
    gemm(rows, cols, k, alpha, a_block, la, b_block, lb, beta, c_block, ldc);
}

}  // namespace

template <class T>
void parallel_gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, BlasMatrix la, const T* b, BlasMatrix lb,
                   T beta, T* c, int64_t ldc, const T* column_bias) {
    const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads < 2 || m * n * k <= kSingleThreadGemm) {
        return gemm_block(0, m, 0, n, k, alpha, a, la, b, lb, beta, c, ldc, column_bias);
    }
    // One block per thread along the longer side of C (no more: every block re-packs the whole
    // other operand inside BLAS), each a multiple of 16 (whole SIMD registers for the BLAS
    // micro-kernel) except the last. Dealt dynamically: when a thread is late to start (a busy
    // machine), another one takes its block instead of waiting for it.
    const bool by_columns = n > m;
    const int64_t length = by_columns ? n : m;
    const int64_t block = ((length + threads - 1) / threads + 15) / 16 * 16;
    const int64_t blocks = (length + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(threads))
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t start = blk * block, size = std::min(block, length - start);
        if (by_columns) {
            gemm_block(0, m, start, size, k, alpha, a, la, b, lb, beta, c, ldc, column_bias);
        } else {
            gemm_block(start, size, 0, n, k, alpha, a, la, b, lb, beta, c, ldc, column_bias);
        }
    }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, BlasMatrix, const float*, BlasMatrix, float,
                          float*, int64_t);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, BlasMatrix, const double*, BlasMatrix,
                           double, double*, int64_t);
template void parallel_gemm<float>(int64_t, int64_t, int64_t, float, const float*, BlasMatrix, const float*, BlasMatrix,
                                   float, float*, int64_t, const float*);
template void parallel_gemm<double>(int64_t, int64_t, int64_t, double, const double*, BlasMatrix, const double*,
                                    BlasMatrix, double, double*, int64_t, const double*);

}  // namespace wsol::cpu
