// Elementwise ops: forward dispatch and backward formula side by side.
//
// The pattern every op in ops/ follows:
//   1. check the inputs (dtype, device, shapes) and name the op in any error;
//   2. allocate the output and run the kernel of the inputs' backend (cpu:: or cuda::);
//   3. if any input requires grad, record_op() with a lambda that maps the output gradient to the
//      input gradients. The lambda captures, detached, exactly the tensors the formula needs.
#include "ops/elementwise.h"

#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/elementwise.h"
#include "ops/dispatch.h"
#include "ops/reduce.h"
#if WSOL_CUDA
#include "ops/cuda/elementwise.h"
#endif

namespace wsol {

const char* unary_op_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::Neg: return "neg";
        case UnaryOp::Exp: return "exp";
        case UnaryOp::Log: return "log";
        case UnaryOp::Sqrt: return "sqrt";
        case UnaryOp::Rsqrt: return "rsqrt";
        case UnaryOp::Abs: return "abs";
        case UnaryOp::Sign: return "sign";
        case UnaryOp::Square: return "square";
        case UnaryOp::Relu: return "relu";
        case UnaryOp::Sigmoid: return "sigmoid";
        case UnaryOp::Tanh: return "tanh";
        case UnaryOp::Gelu: return "gelu";
        case UnaryOp::GeluTanh: return "gelu_tanh";
        case UnaryOp::Tanhshrink: return "tanhshrink";
        case UnaryOp::LogicalNot: return "logical_not";
        case UnaryOp::IsFinite: return "isfinite";
    }
    return "unary";
}

const char* binary_op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::Add: return "add";
        case BinaryOp::Sub: return "sub";
        case BinaryOp::Mul: return "mul";
        case BinaryOp::Div: return "div";
        case BinaryOp::Pow: return "pow";
        case BinaryOp::Maximum: return "maximum";
        case BinaryOp::Minimum: return "minimum";
        case BinaryOp::Eq: return "eq";
        case BinaryOp::Ne: return "ne";
        case BinaryOp::Lt: return "lt";
        case BinaryOp::Le: return "le";
        case BinaryOp::Gt: return "gt";
        case BinaryOp::Ge: return "ge";
        case BinaryOp::LogicalAnd: return "logical_and";
        case BinaryOp::LogicalOr: return "logical_or";
    }
    return "binary";
}

bool is_comparison(BinaryOp op) {
    return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
           op == BinaryOp::Gt || op == BinaryOp::Ge || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
}

namespace {

// ---- kernel launchers (no autograd) ----------------------------------------------------------

Tensor run_unary(UnaryOp op, const Tensor& x) {
    const bool to_bool = op == UnaryOp::IsFinite || op == UnaryOp::LogicalNot;
    Tensor out = Tensor::empty(x.shape(), to_bool ? kBool : x.dtype(), x.device());
    switch (backend_of(unary_op_name(op), {x})) {
        case DeviceType::CPU: cpu::unary(op, out, x); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::unary(op, out, x)); break;
    }
    return out;
}

Tensor run_unary_grad(UnaryOp op, const Tensor& grad_y, const Tensor& x, const Tensor& y) {
    Tensor grad_x = Tensor::empty(grad_y.shape(), grad_y.dtype(), grad_y.device());
    switch (backend_of(unary_op_name(op), {grad_y, x, y})) {
        case DeviceType::CPU: cpu::unary_grad(op, grad_x, grad_y, x, y); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::unary_grad(op, grad_x, grad_y, x, y)); break;
    }
    return grad_x;
}

Tensor run_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
    const char* name = binary_op_name(op);
    check_same_dtype(name, a, b);
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = Tensor::empty(shape, is_comparison(op) ? kBool : a.dtype(), a.device());
    switch (backend_of(name, {a, b})) {
        case DeviceType::CPU: cpu::binary(op, out, a, b); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::binary(op, out, a, b)); break;
    }
    return out;
}

Tensor run_binary_scalar(BinaryOp op, const Tensor& a, double scalar, bool scalar_first) {
    Tensor out = Tensor::empty(a.shape(), is_comparison(op) ? kBool : a.dtype(), a.device());
    switch (backend_of(binary_op_name(op), {a})) {
        case DeviceType::CPU: cpu::binary_scalar(op, out, a, scalar, scalar_first); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::binary_scalar(op, out, a, scalar, scalar_first)); break;
    }
    return out;
}

Tensor run_where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_same_dtype("where", a, b);
    const Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    switch (backend_of("where", {cond, a, b})) {
        case DeviceType::CPU: cpu::where(out, cond, a, b); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::where(out, cond, a, b)); break;
    }
    return out;
}

// ---- differentiable unary ops ----------------------------------------------------------------

// Whether the derivative is written in terms of the output (exp, sqrt, sigmoid...) rather than
// the input: then only the output is saved for backward.
bool grad_uses_output(UnaryOp op) {
    return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Sigmoid ||
           op == UnaryOp::Tanh || op == UnaryOp::Neg;
}

Tensor differentiable_unary(UnaryOp op, const Tensor& x) {
    check_floating(unary_op_name(op), x);
    Tensor y = run_unary(op, x);
    if (any_requires_grad({x})) {
        const bool use_output = grad_uses_output(op);
        Tensor saved = use_output ? y.detach() : x.detach();
        record_op(unary_op_name(op), {x}, {y}, [op, use_output, saved](const TensorList& g, const GradMask&) {
            return TensorList{use_output ? run_unary_grad(op, g[0], Tensor(), saved)
                                         : run_unary_grad(op, g[0], saved, Tensor())};
        });
    }
    return y;
}

// Under bf16 autocast, float32 with bfloat16 CUDA operands promote to float32 (ops/autocast.h);
// otherwise x is returned as is (and mixed dtypes are an error in the op).
Tensor promoted(const Tensor& x, const Tensor& other) { return autocast_mixed({x, other}) ? autocast_float(x) : x; }

void check_in_place(const char* op, const Tensor& x) {
    WSOL_CHECK(x.defined(), op, ": undefined tensor");
    WSOL_CHECK(!(grad_enabled() && x.requires_grad()), op, ": in-place update of a tensor that requires grad "
               "while gradients are recorded; wrap the update in NoGradGuard");
}

}  // namespace

// ---- arithmetic ------------------------------------------------------------------------------

Tensor add(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(BinaryOp::Add, a, b);
    if (any_requires_grad({a, b})) {
        record_op("add", {a, b}, {y}, [sa = a.shape(), sb = b.shape()](const TensorList& g, const GradMask& need) {
            return TensorList{need[0] ? sum_to(g[0], sa) : Tensor(), need[1] ? sum_to(g[0], sb) : Tensor()};
        });
    }
    return y;
}

Tensor sub(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(BinaryOp::Sub, a, b);
    if (any_requires_grad({a, b})) {
        record_op("sub", {a, b}, {y}, [sa = a.shape(), sb = b.shape()](const TensorList& g, const GradMask& need) {
            return TensorList{need[0] ? sum_to(g[0], sa) : Tensor(), need[1] ? sum_to(neg(g[0]), sb) : Tensor()};
        });
    }
    return y;
}

Tensor mul(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(BinaryOp::Mul, a, b);
    if (any_requires_grad({a, b})) {
        // d(a b)/da = b, d(a b)/db = a
        record_op("mul", {a, b}, {y}, [a = a.detach(), b = b.detach()](const TensorList& g, const GradMask& need) {
            return TensorList{need[0] ? sum_to(mul(g[0], b), a.shape()) : Tensor(),
                              need[1] ? sum_to(mul(g[0], a), b.shape()) : Tensor()};
        });
    }
    return y;
}

Tensor div(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(BinaryOp::Div, a, b);
    if (any_requires_grad({a, b})) {
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -y/b
        record_op("div", {a, b}, {y},
                  [a_shape = a.shape(), b = b.detach(), y = y.detach()](const TensorList& g, const GradMask& need) {
                      Tensor ga = need[0] ? sum_to(div(g[0], b), a_shape) : Tensor();
                      Tensor gb = need[1] ? sum_to(neg(div(mul(g[0], y), b)), b.shape()) : Tensor();
                      return TensorList{ga, gb};
                  });
    }
    return y;
}

Tensor pow(const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(BinaryOp::Pow, a, b);
    if (any_requires_grad({a, b})) {
        // d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (as PyTorch).
        record_op("pow", {a, b}, {y},
                  [a = a.detach(), b = b.detach(), y = y.detach()](const TensorList& g, const GradMask& need) {
                      Tensor ga, gb;
                      if (need[0]) ga = sum_to(mul(g[0], mul(b, pow(a, sub(b, 1.0)))), a.shape());
                      if (need[1]) {
                          Tensor zero_base = logical_and(eq(a, zeros_like(a)), ge(b, zeros_like(b)));
                          Tensor d = where(zero_base, zeros_like(y), mul(y, log(a)));
                          gb = sum_to(mul(g[0], d), b.shape());
                      }
                      return TensorList{ga, gb};
                  });
    }
    return y;
}

namespace {
// maximum/minimum backward: the gradient goes to the winner, half to each on a tie.
Tensor extremum(BinaryOp op, const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_binary(op, a, b);
    if (any_requires_grad({a, b})) {
        record_op(binary_op_name(op), {a, b}, {y},
                  [op, a = a.detach(), b = b.detach()](const TensorList& g, const GradMask& need) {
                      Tensor a_wins = op == BinaryOp::Maximum ? gt(a, b) : lt(a, b);
                      Tensor b_wins = op == BinaryOp::Maximum ? lt(a, b) : gt(a, b);
                      Tensor half = mul(g[0], 0.5);
                      Tensor tie = eq(a, b);
                      Tensor zero = zeros_like(g[0]);
                      Tensor ga, gb;
                      if (need[0]) ga = sum_to(where(a_wins, g[0], where(tie, half, zero)), a.shape());
                      if (need[1]) gb = sum_to(where(b_wins, g[0], where(tie, half, zero)), b.shape());
                      return TensorList{ga, gb};
                  });
    }
    return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, a, b); }

Tensor add(const Tensor& a, double b) {
    Tensor y = run_binary_scalar(BinaryOp::Add, a, b, false);
    if (any_requires_grad({a})) {
        record_op("add", {a}, {y}, [](const TensorList& g, const GradMask&) { return TensorList{g[0]}; });
    }
    return y;
}

Tensor sub(const Tensor& a, double b) { return add(a, -b); }

Tensor rsub(double a, const Tensor& b) {
    Tensor y = run_binary_scalar(BinaryOp::Sub, b, a, true);
    if (any_requires_grad({b})) {
        record_op("rsub", {b}, {y}, [](const TensorList& g, const GradMask&) { return TensorList{neg(g[0])}; });
    }
    return y;
}

Tensor mul(const Tensor& a, double b) {
    Tensor y = run_binary_scalar(BinaryOp::Mul, a, b, false);
    if (any_requires_grad({a})) {
        record_op("mul", {a}, {y}, [b](const TensorList& g, const GradMask&) { return TensorList{mul(g[0], b)}; });
    }
    return y;
}

Tensor div(const Tensor& a, double b) {
    Tensor y = run_binary_scalar(BinaryOp::Div, a, b, false);
    if (any_requires_grad({a})) {
        record_op("div", {a}, {y}, [b](const TensorList& g, const GradMask&) { return TensorList{div(g[0], b)}; });
    }
    return y;
}

Tensor rdiv(double a, const Tensor& b) {
    Tensor y = run_binary_scalar(BinaryOp::Div, b, a, true);
    if (any_requires_grad({b})) {
        // d(a/b)/db = -a/b^2 = -y/b
        record_op("rdiv", {b}, {y}, [b = b.detach(), y = y.detach()](const TensorList& g, const GradMask&) {
            return TensorList{neg(div(mul(g[0], y), b))};
        });
    }
    return y;
}

Tensor pow(const Tensor& a, double exponent) {
    check_floating("pow", a);
    Tensor y = run_binary_scalar(BinaryOp::Pow, a, exponent, false);
    if (any_requires_grad({a})) {
        // d(a^p)/da = p a^(p-1)
        record_op("pow", {a}, {y}, [a = a.detach(), exponent](const TensorList& g, const GradMask&) {
            if (exponent == 0.0) return TensorList{zeros_like(g[0])};
            return TensorList{mul(g[0], mul(pow(a, exponent - 1.0), exponent))};
        });
    }
    return y;
}

Tensor neg(const Tensor& x) {
    Tensor y = run_unary(UnaryOp::Neg, x);
    if (any_requires_grad({x})) {
        record_op("neg", {x}, {y}, [](const TensorList& g, const GradMask&) { return TensorList{neg(g[0])}; });
    }
    return y;
}

Tensor exp(const Tensor& x) { return differentiable_unary(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return differentiable_unary(UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return differentiable_unary(UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return differentiable_unary(UnaryOp::Rsqrt, x); }
Tensor abs(const Tensor& x) {
    if (!is_floating(x.dtype())) return run_unary(UnaryOp::Abs, x);
    return differentiable_unary(UnaryOp::Abs, x);
}
Tensor square(const Tensor& x) {
    if (!is_floating(x.dtype())) return run_unary(UnaryOp::Square, x);
    return differentiable_unary(UnaryOp::Square, x);
}
Tensor sign(const Tensor& x) { return run_unary(UnaryOp::Sign, x); }

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
    const double low = lo.value_or(-std::numeric_limits<double>::infinity());
    const double high = hi.value_or(std::numeric_limits<double>::infinity());
    WSOL_CHECK(!(low > high), "clamp: lower bound ", low, " is above upper bound ", high);
    Tensor y = empty_like(x);
    switch (backend_of("clamp", {x})) {
        case DeviceType::CPU: cpu::clamp(y, x, low, high); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::clamp(y, x, low, high)); break;
    }
    if (any_requires_grad({x})) {
        record_op("clamp", {x}, {y}, [x = x.detach(), low, high](const TensorList& g, const GradMask&) {
            Tensor gx = empty_like(g[0]);
            switch (backend_of("clamp", {g[0], x})) {
                case DeviceType::CPU: cpu::clamp_grad(gx, g[0], x, low, high); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::clamp_grad(gx, g[0], x, low, high)); break;
            }
            return TensorList{gx};
        });
    }
    return y;
}

// ---- activations -----------------------------------------------------------------------------

Tensor relu(const Tensor& x) { return differentiable_unary(UnaryOp::Relu, x); }
Tensor sigmoid(const Tensor& x) { return differentiable_unary(UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return differentiable_unary(UnaryOp::Tanh, x); }
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
    return differentiable_unary(approximation == GeluApproximation::None ? UnaryOp::Gelu : UnaryOp::GeluTanh, x);
}
Tensor tanhshrink(const Tensor& x) { return differentiable_unary(UnaryOp::Tanhshrink, x); }

// ---- selection and comparison ----------------------------------------------------------------

Tensor where(const Tensor& cond, const Tensor& a_in, const Tensor& b_in) {
    const Tensor a = promoted(a_in, b_in), b = promoted(b_in, a_in);
    Tensor y = run_where(cond, a, b);
    if (any_requires_grad({a, b})) {
        record_op("where", {a, b}, {y},
                  [cond = cond.detach(), sa = a.shape(), sb = b.shape()](const TensorList& g, const GradMask& need) {
                      Tensor zero = zeros_like(g[0]);
                      return TensorList{need[0] ? sum_to(run_where(cond, g[0], zero), sa) : Tensor(),
                                        need[1] ? sum_to(run_where(cond, zero, g[0]), sb) : Tensor()};
                  });
    }
    return y;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) {
    Tensor scalar = Tensor::empty({}, a.dtype(), a.device());
    copy_into(scalar, Tensor::scalar<double>(b));
    return where(cond, a, scalar);
}

Tensor eq(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Eq, promoted(a, b), promoted(b, a)); }
Tensor ne(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Ne, promoted(a, b), promoted(b, a)); }
Tensor lt(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Lt, promoted(a, b), promoted(b, a)); }
Tensor le(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Le, promoted(a, b), promoted(b, a)); }
Tensor gt(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Gt, promoted(a, b), promoted(b, a)); }
Tensor ge(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::Ge, promoted(a, b), promoted(b, a)); }
Tensor gt(const Tensor& a, double b) { return run_binary_scalar(BinaryOp::Gt, a, b, false); }
Tensor lt(const Tensor& a, double b) { return run_binary_scalar(BinaryOp::Lt, a, b, false); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::LogicalAnd, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return run_binary(BinaryOp::LogicalOr, a, b); }
Tensor logical_not(const Tensor& x) { return run_unary(UnaryOp::LogicalNot, x); }
Tensor isfinite(const Tensor& x) { return run_unary(UnaryOp::IsFinite, x); }

// ---- creation and in-place updates -----------------------------------------------------------

Tensor empty_like(const Tensor& x) { return Tensor::empty(x.shape(), x.dtype(), x.device()); }
Tensor zeros_like(const Tensor& x) { return Tensor::zeros(x.shape(), x.dtype(), x.device()); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor out = Tensor::empty(shape, dtype, device);
    fill_(out, value);
    return out;
}
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor ones_like(const Tensor& x) { return full(x.shape(), 1.0, x.dtype(), x.device()); }
Tensor full_like(const Tensor& x, double value) { return full(x.shape(), value, x.dtype(), x.device()); }

Tensor arange(int64_t n, DType dtype, Device device) {
    WSOL_CHECK(n >= 0, "arange: negative length ", n);
    Tensor host = Tensor::empty({n}, dtype, kCPU);
    cpu::arange(host);
    if (device.is_cpu()) return host;
    Tensor out = Tensor::empty({n}, dtype, device);
    copy_into(out, host);
    return out;
}

void fill_(const Tensor& x, double value) {
    check_in_place("fill_", x);
    x.storage()->bump_version();
    switch (backend_of("fill_", {x})) {
        case DeviceType::CPU: cpu::fill(x, value); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::fill(x, value)); break;
    }
}

void add_(const Tensor& x, const Tensor& y, double alpha) {
    check_in_place("add_", x);
    check_same_dtype("add_", x, y);
    WSOL_CHECK(broadcast_shapes(x.shape(), y.shape(), "add_") == x.shape(), "add_: ", shape_str(y.shape()),
               " does not broadcast to the destination ", shape_str(x.shape()));
    x.storage()->bump_version();
    switch (backend_of("add_", {x, y})) {
        case DeviceType::CPU: cpu::add_scaled(x, y, alpha); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::add_scaled(x, y, alpha)); break;
    }
}

void mul_(const Tensor& x, double factor) {
    check_in_place("mul_", x);
    x.storage()->bump_version();
    switch (backend_of("mul_", {x})) {
        case DeviceType::CPU: cpu::binary_scalar(BinaryOp::Mul, x, x, factor, false); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::binary_scalar(BinaryOp::Mul, x, x, factor, false)); break;
    }
}

void copy_(const Tensor& dst, const Tensor& src) {
    check_in_place("copy_", dst);
    copy_into(dst, src);
}

}  // namespace wsol
