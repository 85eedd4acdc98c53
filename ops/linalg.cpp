// matmul, bmm and linear: forward dispatch and backward formulas.
//
// Everything reduces to one recorded op, the batched product of two tensors of equal batch shape
// (batched_product below): 1-D operands become 2-D through unsqueeze views, broadcast batch axes
// become expand views (stride 0), and the views' own backward passes (squeeze, expand -> sum_to)
// finish the job. Two shortcuts keep the GEMMs large:
//   - (..., M, K) @ (K, N) folds the batch into the rows, one (B*M, K) @ (K, N) product, so the
//     weight gradient is one GEMM over all rows rather than a batch of them summed afterwards;
//   - linear passes W^T to BLAS as a transposed view and writes the bias into the output just
//     before the GEMM adds onto it (on the GPU: cuBLASLt's bias epilogue), so neither W^T nor
//     x W^T is ever materialised separately.
// Under bf16 autocast, float32 CUDA operands are cast to bfloat16 first (ops/autocast.h).
#include "ops/linalg.h"

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/linalg.h"
#include "ops/dispatch.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/linalg.h"
#endif

namespace wsol {

namespace {

// The kernel of the inputs' backend: out (= or +=) a @ b, shapes as cpu::matmul documents.
void run_matmul(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
    switch (backend_of(op, {out, a, b})) {
        case DeviceType::CPU: cpu::matmul(out, a, b, accumulate); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::matmul(out, a, b, accumulate)); break;
    }
}

// A raw (unrecorded) view of x with its last two axes swapped: how W^T and A^T reach BLAS.
Tensor swap_last_two(const Tensor& x) {
    Shape shape = x.shape();
    Strides strides = x.strides();
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    std::swap(strides[strides.size() - 1], strides[strides.size() - 2]);
    return x.as_strided(shape, strides, x.offset());
}

// a @ b without recording, for the backward passes: a (..., M, K), b (..., K, N), same batch.
Tensor product_no_grad(const char* op, const Tensor& a, const Tensor& b) {
    Shape shape = a.shape();
    shape.back() = b.shape().back();
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    run_matmul(op, out, a, b, false);
    return out;
}

// The one recorded product: a (..., M, K) @ b (..., K, N) with identical batch shapes.
Tensor batched_product(const char* op, const Tensor& a, const Tensor& b) {
    Tensor y = product_no_grad(op, a, b);
    if (any_requires_grad({a, b})) {
        // y = a b  =>  dL/da = g b^T,  dL/db = a^T g
        record_op(op, {a, b}, {y}, [op, a = a.detach(), b = b.detach()](const TensorList& g, const GradMask& need) {
            return TensorList{need[0] ? product_no_grad(op, g[0], swap_last_two(b)) : Tensor(),
                              need[1] ? product_no_grad(op, swap_last_two(a), g[0]) : Tensor()};
        });
    }
    return y;
}

// linear's bias gradient: the sum of the output gradient g (rows, O) over its rows.
Tensor bias_grad(const Tensor& g) {
    Tensor gb = Tensor::empty({g.size(1)}, g.dtype(), g.device());
    switch (backend_of("linear backward", {g})) {
        case DeviceType::CPU: cpu::sum_rows(gb, contiguous(g)); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::sum_rows(gb, contiguous(g))); break;
    }
    return gb;
}

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
    WSOL_CHECK(a.defined() && b.defined(), op, ": undefined operand");
    check_same_dtype(op, a, b);
    check_floating(op, a);
}

// True when the leading axes of x (all but the last) can merge into one without a copy, so that
// (..., M, K) can be viewed as (B*M, K).
bool rows_fold(const Tensor& x) {
    int64_t expected = -1;  // stride the next outer axis needs
    for (int64_t d = x.dim() - 2; d >= 0; --d) {
        const int64_t size = x.shape()[size_t(d)], stride = x.strides()[size_t(d)];
        if (size == 1) continue;
        if (expected >= 0 && stride != expected) return false;
        expected = stride * size;
    }
    return true;
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
    // bf16 autocast: float32 CUDA operands multiply in bfloat16 (float32 accumulation).
    const Tensor a = autocast_lower(a_in), b = autocast_lower(b_in);
    check_operands("matmul", a, b);
    WSOL_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: ", shape_str(a.shape()), " @ ", shape_str(b.shape()),
               ": both operands need at least one dimension");
    const int64_t inner_a = a.size(-1);
    const int64_t inner_b = b.dim() == 1 ? b.size(0) : b.size(-2);
    WSOL_CHECK(inner_a == inner_b, "matmul: ", shape_str(a.shape()), " @ ", shape_str(b.shape()), ": inner dimensions ",
               inner_a, " and ", inner_b, " differ");

    // 1-D operands: a row (1, K) on the left, a column (K, 1) on the right, dropped afterwards.
    if (a.dim() == 1 && b.dim() == 1) return reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), {});
    if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
    if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);

    const int64_t m = a.size(-2), n = b.size(-1);
    // (..., M, K) @ (K, N): fold the batch into the rows when that needs no copy.
    if (b.dim() == 2 && a.dim() > 2 && rows_fold(a)) {
        Shape out_shape(a.shape().begin(), a.shape().end() - 1);
        const int64_t rows = shape_numel(out_shape);
        out_shape.push_back(n);
        return reshape(batched_product("matmul", view(a, {rows, inner_a}), b), out_shape);
    }
    // Broadcast the batch axes, then one batched product over equal batch shapes.
    const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
    const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
    Shape batch;
    try {
        batch = broadcast_shapes(batch_a, batch_b, "matmul");
    } catch (const Error&) {
        WSOL_FAIL("matmul: ", shape_str(a.shape()), " @ ", shape_str(b.shape()), ": batch dimensions ",
                  shape_str(batch_a), " and ", shape_str(batch_b), " do not broadcast");
    }
    Shape shape_a = batch, shape_b = batch;
    shape_a.insert(shape_a.end(), {m, inner_a});
    shape_b.insert(shape_b.end(), {inner_b, n});
    return batched_product("matmul", expand(a, shape_a), expand(b, shape_b));
}

Tensor bmm(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = autocast_lower(a_in), b = autocast_lower(b_in);
    check_operands("bmm", a, b);
    WSOL_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-D tensors, got ", shape_str(a.shape()), " and ",
               shape_str(b.shape()));
    WSOL_CHECK(a.size(0) == b.size(0), "bmm: ", shape_str(a.shape()), " @ ", shape_str(b.shape()), ": batch sizes ",
               a.size(0), " and ", b.size(0), " differ");
    WSOL_CHECK(a.size(2) == b.size(1), "bmm: ", shape_str(a.shape()), " @ ", shape_str(b.shape()),
               ": inner dimensions ", a.size(2), " and ", b.size(1), " differ");
    return batched_product("bmm", a, b);
}

Tensor linear(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in) {
    const Tensor x = autocast_lower(x_in), weight = autocast_lower(weight_in), bias = autocast_lower(bias_in);
    check_operands("linear", x, weight);
    WSOL_CHECK(weight.dim() == 2, "linear: weight must be 2-D (out, in), got ", shape_str(weight.shape()));
    WSOL_CHECK(x.dim() >= 1, "linear: input must have at least one dimension");
    const int64_t in = weight.size(1), out = weight.size(0);
    WSOL_CHECK(x.size(-1) == in, "linear: input ", shape_str(x.shape()), " has ", x.size(-1), " features but weight ",
               shape_str(weight.shape()), " expects ", in);
    if (bias.defined()) {
        check_same_dtype("linear", x, bias);
        WSOL_CHECK(bias.dim() == 1 && bias.size(0) == out, "linear: bias ", shape_str(bias.shape()),
                   " does not match weight ", shape_str(weight.shape()), " (expected (", out, "))");
    }
    Shape out_shape(x.shape().begin(), x.shape().end() - 1);
    const int64_t rows = shape_numel(out_shape);
    out_shape.push_back(out);

    // x: (..., in) -> x2: (rows, in); y2: (rows, out) = x2 W^T + bias (broadcast over rows)
    Tensor x2 = reshape(x, {rows, in});
    Tensor y2 = Tensor::empty({rows, out}, x.dtype(), x.device());
    switch (backend_of("linear", {x, weight, bias})) {
        case DeviceType::CPU: cpu::linear(y2, x2, weight, bias); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::linear(y2, x2, weight, bias)); break;
    }
    if (any_requires_grad({x2, weight, bias})) {
        record_op("linear", {x2, weight, bias}, {y2},
                  [x2 = x2.detach(), w = weight.detach()](const TensorList& g, const GradMask& need) {
                      // g: (rows, out);  dx2 = g W: (rows, in);  dW = g^T x2: (out, in);  db = sum_rows g
                      return TensorList{need[0] ? product_no_grad("linear", g[0], w) : Tensor(),
                                        need[1] ? product_no_grad("linear", swap_last_two(g[0]), x2) : Tensor(),
                                        need[2] ? bias_grad(g[0]) : Tensor()};
                  });
    }
    return reshape(y2, out_shape);
}

}  // namespace wsol
