// CUDA matmul / linear / bias gradient (ops/cuda/linalg.h): layout handling around cuda::gemm.
#include "ops/cuda/linalg.h"

#include "ops/cuda/elementwise.h"
#include "ops/cuda/gemm.h"
#include "ops/cuda/reduce.h"

namespace wsol::cuda {

namespace {

// A matrix operand as cuda::gemm reads it: `t` has unit stride along its last axis, and is the
// transpose of the logical (..., R, C) operand when `transposed`.
struct Operand {
    Tensor t;
    bool transposed = false;
};

// The same storage with the last two axes swapped (a view).
Tensor swap_last_two(const Tensor& x) {
    Shape shape = x.shape();
    Strides strides = x.strides();
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    std::swap(strides[strides.size() - 1], strides[strides.size() - 2]);
    return x.as_strided(shape, strides, x.offset());
}

// Rows of unit-stride elements that cuBLASLt can address: unit stride along the last axis (or a
// single column) and rows that do not overlap.
bool rows_readable(const Tensor& m) {
    const int64_t rows = m.size(-2), cols = m.size(-1);
    const bool unit = m.stride(-1) == 1 || cols <= 1;
    return unit && (rows <= 1 || m.stride(-2) >= std::max<int64_t>(cols, 1));
}

// The batch axes merge into one uniform stride, or are all broadcast (stride 0).
bool batch_mergeable(const Tensor& m) {
    int64_t expected = -1;
    bool broadcast = true, any = false;
    for (int64_t d = m.dim() - 3; d >= 0; --d) {
        const int64_t size = m.shape()[size_t(d)], s = m.strides()[size_t(d)];
        if (size == 1) continue;
        if (!any) {
            broadcast = s == 0;
            any = true;
        } else if (broadcast ? s != 0 : s != expected) {
            return false;
        }
        expected = s * size;
    }
    return true;
}

Operand operand_of(const Tensor& x) {
    if (batch_mergeable(x)) {
        if (rows_readable(x)) return {x, false};
        const Tensor swapped = swap_last_two(x);
        if (rows_readable(swapped)) return {swapped, true};
    }
    Tensor dense = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(dense, x);
    return {dense, false};
}

}  // namespace

void matmul(const Tensor& out, const Tensor& a, const Tensor& b, bool accumulate) {
    WSOL_CHECK(out.is_contiguous() && a.dtype() == out.dtype() && b.dtype() == out.dtype(),
               "cuda::matmul: expects a contiguous output and operands of its dtype");
    WSOL_CHECK(out.dtype() == kFloat32 || out.dtype() == kBFloat16 || out.dtype() == kFloat64, "matmul on CUDA: dtype ",
               dtype_name(out.dtype()), " is not supported (float32, bfloat16, float64 are)");
    if (out.numel() == 0) return;
    if (a.size(-1) == 0) {  // an empty inner dimension: the product is zero
        if (!accumulate) fill(out, 0.0);
        return;
    }
    const Operand oa = operand_of(a), ob = operand_of(b);
    GemmOptions o;
    o.transpose_a = oa.transposed;
    o.transpose_b = ob.transposed;
    o.beta = accumulate ? 1.0 : 0.0;
    gemm(out, oa.t, ob.t, o);
}

void linear(const Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) {
    WSOL_CHECK(out.is_contiguous() && x.dtype() == out.dtype() && weight.dtype() == out.dtype() &&
                   (!bias.defined() || bias.dtype() == out.dtype()),
               "cuda::linear: expects a contiguous output and operands of its dtype");
    WSOL_CHECK(out.dtype() == kFloat32 || out.dtype() == kBFloat16 || out.dtype() == kFloat64, "linear on CUDA: dtype ",
               dtype_name(out.dtype()), " is not supported (float32, bfloat16, float64 are)");
    const int64_t rows = out.size(0), features = out.size(1), in = x.size(1);
    if (out.numel() == 0) return;
    // W^T as an (in, O) view: for a row-major weight its transposed form is the weight itself.
    const Tensor w_t = weight.as_strided({in, features}, {weight.stride(1), weight.stride(0)}, weight.offset());
    const Operand ox = operand_of(x), ow = operand_of(w_t);
    GemmOptions o;
    o.transpose_a = ox.transposed;
    o.transpose_b = ow.transposed;
    if (bias.defined() && in > 0 && out.dtype() != kFloat64) {
        // cuBLASLt adds the bias in the GEMM's epilogue (it reads a contiguous vector).
        o.epilogue = GemmEpilogue::Bias;
        o.bias = bias;
        if (!bias.is_contiguous()) {
            o.bias = Tensor::empty(bias.shape(), bias.dtype(), bias.device());
            copy_into(o.bias, bias);
        }
        if (try_gemm(out, ox.t, ow.t, o)) return;
        // cuBLASLt offers no algorithm with the epilogue for this layout: add the bias the plain
        // way below (the same result). Any other failure (out of memory, a failed launch) throws.
        o.epilogue = GemmEpilogue::None;
        o.bias = Tensor();
    }
    // No epilogue: the bias (if any) broadcast into out first, the product added onto it.
    if (bias.defined()) {
        copy_into(out, bias.as_strided({rows, features}, {0, bias.stride(0)}, bias.offset()));
        o.beta = 1.0;
    }
    if (in == 0) {
        if (!bias.defined()) fill(out, 0.0);
        return;
    }
    gemm(out, ox.t, ow.t, o);
}

void sum_rows(const Tensor& out, const Tensor& g) {
    WSOL_CHECK(g.dim() == 2 && g.is_contiguous() && out.is_contiguous() && out.numel() == g.size(1),
               "cuda::sum_rows: expects a contiguous (rows, O) input and an (O) output");
    const Tensor kept = out.as_strided({1, g.size(1)}, {g.size(1), 1}, out.offset());
    cuda::reduce(ReduceOp::Sum, kept, g, Axes{0});
}

}  // namespace wsol::cuda
