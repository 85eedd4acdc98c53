// CPU kernels of the elementwise family (ops/elementwise.h). `out` is always a fresh contiguous
// tensor of the broadcast shape; inputs may be any strided views that broadcast to it.
// ops/cuda/elementwise.h declares the same functions for the GPU.
#pragma once

#include "ops/elementwise.h"

namespace wsol::cpu {

void unary(UnaryOp op, const Tensor& out, const Tensor& x);
// grad_x = grad_y * f'(x), where the derivative may use the saved input x and/or output y.
void unary_grad(UnaryOp op, const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, const Tensor& y);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
// out = a (op) scalar, or scalar (op) a when scalar_first.
void binary_scalar(BinaryOp op, const Tensor& out, const Tensor& a, double scalar, bool scalar_first);
void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
void clamp(const Tensor& out, const Tensor& x, double lo, double hi);
// grad_x = grad_y where lo <= x <= hi, else 0.
void clamp_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, double lo, double hi);
void fill(const Tensor& out, double value);
void arange(const Tensor& out);
// x += alpha * y, y broadcasting to x.
void add_scaled(const Tensor& x, const Tensor& y, double alpha);

}  // namespace wsol::cpu
