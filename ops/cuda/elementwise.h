// CUDA kernels of the elementwise family (ops/elementwise.h), with exactly the signatures of the
// CPU kernels in ops/cpu/elementwise.h. Supported dtypes: float32, float64 and bfloat16 (computed
// in float32) for the math; int32, int64 and uint8 where the CPU supports integers; bool for the
// logical ops; where() and fill() take every dtype. Anything else is a wsol::Error naming the op
// and the dtype. `out` may be any strided view (in-place updates pass a view); inputs broadcast.
#pragma once

#include "ops/elementwise.h"

namespace wsol::cuda {

void unary(UnaryOp op, const Tensor& out, const Tensor& x);
// grad_x = grad_y * f'(x), where the derivative may use the saved input x and/or output y.
void unary_grad(UnaryOp op, const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, const Tensor& y);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
// out = a (op) scalar, or scalar (op) a when scalar_first. The scalar is rounded to a's dtype
// first (as the CPU does) and passed to the kernel as an argument.
void binary_scalar(BinaryOp op, const Tensor& out, const Tensor& a, double scalar, bool scalar_first);
void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
void clamp(const Tensor& out, const Tensor& x, double lo, double hi);
// grad_x = grad_y where lo <= x <= hi, else 0.
void clamp_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, double lo, double hi);
void fill(const Tensor& out, double value);
// x += alpha * y, y broadcasting to x.
void add_scaled(const Tensor& x, const Tensor& y, double alpha);

}  // namespace wsol::cuda
