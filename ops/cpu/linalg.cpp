// Batched GEMM on the CPU, plus linear (GEMM with the bias fused in) and its bias gradient.
//
// Every batch entry is one cblas_?gemm call on pointers into the operands' storage: the batch axes
// only move the start pointer (stride 0 on a broadcast axis re-reads the same matrix), and the two
// matrix axes are handed to BLAS as row- or column-major (ops/cpu/blas.h), so transposed views are
// not copied. How the batch is threaded (all threads are OpenMP threads, see ops/cpu/blas.h):
//   - many products, or small ones: one OpenMP loop over the batch, one single-threaded GEMM per
//     product, so each core works on whole matrices and nothing is split or synchronised;
//   - a few large products: one after the other, each split over the threads (parallel_gemm),
//     which keeps the cores balanced when the batch does not divide among them.
#include "ops/cpu/linalg.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "engine/dispatch.h"
#include "ops/cpu/blas.h"

namespace wsol::cpu {

namespace {

// A view of x whose two matrix axes BLAS can read. x itself when it already is; otherwise a
// contiguous copy of the distinct matrices (broadcast batch axes stay broadcast: the copy keeps
// them at size 1 and re-expands with stride 0, so a broadcast operand is not materialised).
Tensor blas_ready(const Tensor& x) {
    const int64_t nd = x.dim();
    if (blas_layout(x.size(-2), x.size(-1), x.stride(-2), x.stride(-1))) return x;
    Shape compact_shape = x.shape();
    for (int64_t d = 0; d < nd - 2; ++d) {
        if (x.strides()[size_t(d)] == 0) compact_shape[size_t(d)] = 1;
    }
    Tensor compact = Tensor::empty(compact_shape, x.dtype(), x.device());
    copy_into(compact, x.as_strided(compact_shape, x.strides(), x.offset()));
    Strides strides = compact.strides();
    for (int64_t d = 0; d < nd - 2; ++d) {
        if (x.strides()[size_t(d)] == 0) strides[size_t(d)] = 0;
    }
    return compact.as_strided(x.shape(), strides, compact.offset());
}

// Element offset of every batch entry of x (row-major order over the batch axes of `batch`).
std::vector<int64_t> batch_offsets(const Tensor& x, const Shape& batch) {
    const int64_t count = shape_numel(batch);
    std::vector<int64_t> offsets(size_t(count), 0);
    for (int64_t i = 0; i < count; ++i) {
        int64_t rest = i, offset = 0;
        for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
            offset += (rest % batch[size_t(d)]) * x.strides()[size_t(d)];
            rest /= batch[size_t(d)];
        }
        offsets[size_t(i)] = offset;
    }
    return offsets;
}

// Parallelise over the batch rather than inside each GEMM? See the file comment. An uneven
// share (3 products on 2 threads) wastes at most 1/4 of the time once batch >= 4 threads.
bool parallel_over_batch(int64_t batch, int64_t m, int64_t n, int64_t k) {
    const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (batch < 2 || threads < 2) return false;
    return m * n * k <= kSingleThreadGemm || batch % threads == 0 || batch >= 4 * threads;
}

template <class T>
void matmul_typed(const Tensor& out, const Tensor& a_in, const Tensor& b_in, bool accumulate) {
    const int64_t m = out.size(-2), n = out.size(-1), k = a_in.size(-1);
    const Shape batch(out.shape().begin(), out.shape().end() - 2);
    const int64_t count = shape_numel(batch);
    if (count == 0 || m == 0 || n == 0) return;
    const Tensor a = blas_ready(a_in);
    const Tensor b = blas_ready(b_in);
    const BlasMatrix la = *blas_layout(m, k, a.stride(-2), a.stride(-1));
    const BlasMatrix lb = *blas_layout(k, n, b.stride(-2), b.stride(-1));
    for (int64_t v : {m, n, k, la.ld, lb.ld}) check_blas_int("matmul", v);
    const std::vector<int64_t> offset_a = batch_offsets(a, batch);
    const std::vector<int64_t> offset_b = batch_offsets(b, batch);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = out.data<T>();
    const T beta = accumulate ? T(1) : T(0);
    if (parallel_over_batch(count, m, n, k)) {
        // Dealt first come, first served: a thread descheduled on a busy machine holds up no one.
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t i = 0; i < count; ++i) {
            gemm<T>(m, n, k, T(1), pa + offset_a[size_t(i)], la, pb + offset_b[size_t(i)], lb, beta, pc + i * m * n, n);
        }
    } else {
        for (int64_t i = 0; i < count; ++i) {
            parallel_gemm<T>(m, n, k, T(1), pa + offset_a[size_t(i)], la, pb + offset_b[size_t(i)], lb, beta,
                             pc + i * m * n, n);
        }
    }
}

template <class T>
void linear_typed(const Tensor& out, const Tensor& x_in, const Tensor& weight, const Tensor& bias_in) {
    const int64_t rows = out.size(0), features = out.size(1), in = x_in.size(1);
    // W^T as a (in, O) view: column-major when the weight is row-major, so BLAS reads it transposed.
    const Tensor w_t = weight.as_strided({in, features}, {weight.stride(1), weight.stride(0)}, weight.offset());
    const Tensor x = blas_ready(x_in), wt = blas_ready(w_t);
    const BlasMatrix lx = *blas_layout(rows, in, x.stride(0), x.stride(1));
    const BlasMatrix lw = *blas_layout(in, features, wt.stride(0), wt.stride(1));
    for (int64_t v : {rows, features, in, lx.ld, lw.ld}) check_blas_int("linear", v);
    Tensor bias = bias_in;
    if (bias.defined() && !bias.is_contiguous()) {
        bias = Tensor::empty(bias_in.shape(), bias_in.dtype(), bias_in.device());
        copy_into(bias, bias_in);
    }
    parallel_gemm<T>(rows, features, in, T(1), x.data<T>(), lx, wt.data<T>(), lw, T(0), out.data<T>(), features,
                     bias.defined() ? bias.data<T>() : nullptr);
}

template <class T>
void sum_rows_typed(const Tensor& out, const Tensor& g) {
    const int64_t rows = g.size(0), cols = g.size(1);
    const T* pg = g.data<T>();
    T* po = out.data<T>();
    // One block of columns per thread; each streams down all rows, adding whole row segments
    // into a small double accumulator (vectorised across columns, exact enough for any row count).
    const int64_t threads = omp_get_max_threads();
    const int64_t block = std::max<int64_t>(16, ((cols + threads - 1) / threads + 15) / 16 * 16);
    const int64_t blocks = (cols + block - 1) / block;
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t c0 = blk * block, width = std::min(block, cols - c0);
        std::vector<double> acc(size_t(width), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
            const T* row = pg + r * cols + c0;
            for (int64_t j = 0; j < width; ++j) acc[size_t(j)] += double(row[j]);
        }
        for (int64_t j = 0; j < width; ++j) po[c0 + j] = T(acc[size_t(j)]);
    }
}

}  // namespace

void sum_rows(const Tensor& out, const Tensor& g) {
    WSOL_CHECK(g.dim() == 2 && g.is_contiguous() && out.is_contiguous() && out.numel() == g.size(1),
               "cpu::sum_rows: expects a contiguous (rows, O) input and an (O) output");
    dispatch_floating(g.dtype(), "linear", [&](auto tag) { sum_rows_typed<typename decltype(tag)::type>(out, g); });
}

void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) {
    WSOL_CHECK(out.is_contiguous() && x.dtype() == out.dtype() && weight.dtype() == out.dtype() &&
                   (!bias.defined() || bias.dtype() == out.dtype()),
               "cpu::linear: expects a contiguous output and operands of its dtype");
    dispatch_floating(out.dtype(), "linear",
                      [&](auto tag) { linear_typed<typename decltype(tag)::type>(out, x, weight, bias); });
}

void matmul(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
    WSOL_CHECK(out.is_contiguous() && a.dtype() == out.dtype() && b.dtype() == out.dtype(),
               "cpu::matmul: expects a contiguous output and operands of its dtype");
    dispatch_floating(out.dtype(), "matmul",
                      [&](auto tag) { matmul_typed<typename decltype(tag)::type>(out, a, b, accumulate); });
}

}  // namespace wsol::cpu
