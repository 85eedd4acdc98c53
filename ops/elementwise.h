// Elementwise ops: arithmetic with NumPy broadcasting, math functions, activations, comparisons,
// where, clamp, fills - each differentiable where it makes sense.
//
// Broadcasting and gradients: add(a, b) with a (4,1,3) and b (5,3) gives a (4,5,3) result. In the
// backward pass the gradient of a must have a's shape again, so it is summed over the axes along
// which a was broadcast (sum_to, ops/reduce.h). Every binary op below does that.
//
// Binary ops on two tensors need equal dtypes (no silent promotion; convert with to()), except
// inside a bf16 autocast scope, where float32 and bfloat16 CUDA operands promote to float32 (as
// PyTorch's type promotion does; ops/autocast.h). A double scalar operand takes the tensor's dtype.
#pragma once

#include <optional>

#include "engine/tensor.h"

namespace wsol {

// ---- kernel tables (the same enums index the CPU and the CUDA kernels) ------------------------

enum class UnaryOp {
    Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Square,
    Relu, Sigmoid, Tanh, Gelu, GeluTanh, Tanhshrink,
    LogicalNot,  // bool -> bool
    IsFinite,    // any floating -> bool
};

enum class BinaryOp {
    Add, Sub, Mul, Div, Pow, Maximum, Minimum,
    Eq, Ne, Lt, Le, Gt, Ge,  // -> bool
    LogicalAnd, LogicalOr,   // bool, bool -> bool
};

const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);
bool is_comparison(BinaryOp op);

// ---- arithmetic ------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // where equal, the gradient is split evenly
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor rsub(double a, const Tensor& b);  // a - b
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rdiv(double a, const Tensor& b);  // a / b
Tensor pow(const Tensor& a, double exponent);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);     // gradient sign(x), 0 at 0
Tensor square(const Tensor& x);
Tensor sign(const Tensor& x);    // not differentiable (zero gradient)

// Clamp to [lo, hi] (either bound optional). Gradient passes where lo <= x <= hi.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// ---- activations -----------------------------------------------------------------------------

Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// GELU, exact form 0.5 x (1 + erf(x / sqrt 2)) (timm/DeiT default) or the tanh approximation.
enum class GeluApproximation { None, Tanh };
Tensor gelu(const Tensor& x, GeluApproximation approximation = GeluApproximation::None);
Tensor tanhshrink(const Tensor& x);  // x - tanh(x)

// ---- selection and comparison ----------------------------------------------------------------

// cond ? a : b elementwise with broadcasting; cond is bool. Differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- creation and in-place updates -----------------------------------------------------------

Tensor full(const Shape& shape, double value, DType dtype = kFloat32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
Tensor full_like(const Tensor& x, double value);
Tensor empty_like(const Tensor& x);  // contiguous, same shape/dtype/device
// 0, 1, ..., n-1 (int64 by default).
Tensor arange(int64_t n, DType dtype = kInt64, Device device = kCPU);

// In-place updates, for optimizers and initialisers. They refuse a tensor that requires grad
// while gradients are being recorded (that would silently corrupt the graph).
void fill_(const Tensor& x, double value);
void add_(const Tensor& x, const Tensor& y, double alpha = 1.0);  // x += alpha * y (y broadcasts)
void mul_(const Tensor& x, double factor);                        // x *= factor
void copy_(const Tensor& dst, const Tensor& src);                 // dst = src (broadcast, cast)

// ---- operators -------------------------------------------------------------------------------

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

}  // namespace wsol
