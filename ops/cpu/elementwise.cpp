// CPU elementwise kernels. Each op is a small lambda applied by map_unary/map_binary over a
// StridedLoop; when every operand is contiguous along the inner run the loop is a plain pointer
// loop that the compiler vectorises. Ops whose formula is a library call (std::erf, std::exp),
// which the compiler cannot vectorise, may also pass a `run` kernel for those contiguous runs:
// float32 GELU does (ops/cpu/gelu_math.h).
#include "ops/cpu/elementwise.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"
#include "ops/cpu/gelu_math.h"
#include "ops/cpu/vec_math.h"

namespace wsol::cpu {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;    // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588; // sqrt(2/pi)
constexpr double kGeluCoeff = 0.044715;

// The default `run` argument of map_unary/map_binary: no special kernel, contiguous runs use f.
struct NoRunKernel {};

// out = f(x) elementwise. `run(o, a, n)`, when given, does the same for a contiguous run of n
// elements (o[i] = f(a[i])); it must give the same values as f.
template <class To, class Ti, class F, class Run = NoRunKernel>
void map_unary(const Tensor& out, const Tensor& x, F f, Run run = {}) {
    StridedLoop<2> loop(out.shape(), {out, x});
    loop.run([&](std::array<char*, 2> p, std::array<int64_t, 2> s, int64_t n) {
        if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(Ti))) {
            To* o = reinterpret_cast<To*>(p[0]);
            const Ti* a = reinterpret_cast<const Ti*>(p[1]);
            if constexpr (std::is_same_v<Run, NoRunKernel>) {
                for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
            } else {
                run(o, a, n);
            }
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<To*>(p[0] + i * s[0]) = f(*reinterpret_cast<const Ti*>(p[1] + i * s[1]));
            }
        }
    });
}

// out = f(a, b) elementwise, a and b broadcast. `run(o, x, y, n)`, when given, does the same for a
// run where all three are contiguous (o[i] = f(x[i], y[i])); it must give the same values as f.
template <class To, class Ta, class Tb, class F, class Run = NoRunKernel>
void map_binary(const Tensor& out, const Tensor& a, const Tensor& b, F f, Run run = {}) {
    StridedLoop<3> loop(out.shape(), {out, a, b});
    loop.run([&](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
        if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(Ta)) && s[2] == int64_t(sizeof(Tb))) {
            To* o = reinterpret_cast<To*>(p[0]);
            const Ta* x = reinterpret_cast<const Ta*>(p[1]);
            const Tb* y = reinterpret_cast<const Tb*>(p[2]);
            if constexpr (std::is_same_v<Run, NoRunKernel>) {
                for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
            } else {
                run(o, x, y, n);
            }
        } else if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(Ta)) && s[2] == 0) {
            // Common broadcast: a row against one value (bias, per-channel scale).
            To* o = reinterpret_cast<To*>(p[0]);
            const Ta* x = reinterpret_cast<const Ta*>(p[1]);
            const Tb y = *reinterpret_cast<const Tb*>(p[2]);
            for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                *reinterpret_cast<To*>(p[0] + i * s[0]) = f(*reinterpret_cast<const Ta*>(p[1] + i * s[1]),
                                                            *reinterpret_cast<const Tb*>(p[2] + i * s[2]));
            }
        }
    });
}

// GELU. float64: the C library (gradcheck runs in float64, accuracy first). float32: the
// branch-free formulas of ops/cpu/gelu_math.h, through the *_run kernels below for contiguous
// runs and called per element for strided ones (same values either way).
double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x * kSqrtHalf)); }
double gelu_erf_grad(double x) {
    return 0.5 * (1.0 + std::erf(x * kSqrtHalf)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
}
double gelu_tanh(double x) { return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + kGeluCoeff * x * x * x))); }
double gelu_tanh_grad(double x) {
    const double t = std::tanh(kSqrt2OverPi * (x + kGeluCoeff * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kGeluCoeff * x * x);
}
float gelu_erf(float x) { return gelu_erf_f32(x); }
float gelu_erf_grad(float x) { return gelu_erf_grad_f32(x); }
float gelu_tanh(float x) { return gelu_tanh_f32(x); }
float gelu_tanh_grad(float x) { return gelu_tanh_grad_f32(x); }

// The contiguous float32 GELU loops. The build targets baseline x86-64 (no -march flag, so the
// binaries run on any x86-64 machine); WSOL_VECTOR_CLONES compiles each loop for SSE2, AVX2 and
// AVX-512 and the loader picks the widest the CPU has (ops/cpu/vec_math.h). `omp simd` tells the
// compiler the iterations are independent, so it needs no runtime aliasing check (out == x, in
// place, is fine: element i is read before it is written). The gelu_*_f32 functions are
// always-inline, so their bodies are compiled into each clone at its vector width.
WSOL_VECTOR_CLONES void gelu_erf_run(float* out, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_erf_f32(x[i]);
}
WSOL_VECTOR_CLONES void gelu_tanh_run(float* out, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh_f32(x[i]);
}
// grad_x = grad_y * gelu'(x)
WSOL_VECTOR_CLONES void gelu_erf_grad_run(float* grad_x, const float* grad_y, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) grad_x[i] = grad_y[i] * gelu_erf_grad_f32(x[i]);
}
WSOL_VECTOR_CLONES void gelu_tanh_grad_run(float* grad_x, const float* grad_y, const float* x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) grad_x[i] = grad_y[i] * gelu_tanh_grad_f32(x[i]);
}

// `run` where T is float, no run kernel (NoRunKernel) where it is double.
template <class T, class Run>
auto float_only(Run run) {
    if constexpr (std::is_same_v<T, float>) {
        return run;
    } else {
        return NoRunKernel{};
    }
}

template <class T>
T sigmoid_of(T x) {
    return T(1) / (T(1) + std::exp(-x));
}

// max/min that propagate NaN like PyTorch's maximum/minimum.
template <class T>
T max_nan(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a != a) return a;
        if (b != b) return b;
    }
    return a > b ? a : b;
}
template <class T>
T min_nan(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a != a) return a;
        if (b != b) return b;
    }
    return a < b ? a : b;
}

template <class T>
void unary_floating(UnaryOp op, const Tensor& out, const Tensor& x) {
    switch (op) {
        case UnaryOp::Neg: return map_unary<T, T>(out, x, [](T v) { return -v; });
        case UnaryOp::Exp: return map_unary<T, T>(out, x, [](T v) { return std::exp(v); });
        case UnaryOp::Log: return map_unary<T, T>(out, x, [](T v) { return std::log(v); });
        case UnaryOp::Sqrt: return map_unary<T, T>(out, x, [](T v) { return std::sqrt(v); });
        case UnaryOp::Rsqrt: return map_unary<T, T>(out, x, [](T v) { return T(1) / std::sqrt(v); });
        case UnaryOp::Abs: return map_unary<T, T>(out, x, [](T v) { return std::fabs(v); });
        case UnaryOp::Sign: return map_unary<T, T>(out, x, [](T v) { return T((v > T(0)) - (v < T(0))); });
        case UnaryOp::Square: return map_unary<T, T>(out, x, [](T v) { return v * v; });
        case UnaryOp::Relu: return map_unary<T, T>(out, x, [](T v) { return v > T(0) ? v : T(0); });
        case UnaryOp::Sigmoid: return map_unary<T, T>(out, x, [](T v) { return sigmoid_of(v); });
        case UnaryOp::Tanh: return map_unary<T, T>(out, x, [](T v) { return std::tanh(v); });
        case UnaryOp::Gelu:
            return map_unary<T, T>(out, x, [](T v) { return gelu_erf(v); }, float_only<T>(gelu_erf_run));
        case UnaryOp::GeluTanh:
            return map_unary<T, T>(out, x, [](T v) { return gelu_tanh(v); }, float_only<T>(gelu_tanh_run));
        case UnaryOp::Tanhshrink: return map_unary<T, T>(out, x, [](T v) { return v - std::tanh(v); });
        case UnaryOp::IsFinite: return map_unary<bool, T>(out, x, [](T v) { return std::isfinite(v); });
        case UnaryOp::LogicalNot: break;
    }
    WSOL_FAIL(unary_op_name(op), ": not defined for ", dtype_name(x.dtype()));
}

template <class T>
void unary_integral(UnaryOp op, const Tensor& out, const Tensor& x) {
    switch (op) {
        case UnaryOp::Neg: return map_unary<T, T>(out, x, [](T v) { return T(-v); });
        case UnaryOp::Abs: return map_unary<T, T>(out, x, [](T v) { return v < T(0) ? T(-v) : v; });
        case UnaryOp::Sign: return map_unary<T, T>(out, x, [](T v) { return T((v > T(0)) - (v < T(0))); });
        case UnaryOp::Square: return map_unary<T, T>(out, x, [](T v) { return T(v * v); });
        case UnaryOp::IsFinite: return map_unary<bool, T>(out, x, [](T) { return true; });
        default: break;
    }
    WSOL_FAIL(unary_op_name(op), ": not defined for ", dtype_name(x.dtype()));
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
    switch (op) {
        case BinaryOp::Add: return map_binary<T, T, T>(out, a, b, [](T x, T y) { return T(x + y); });
        case BinaryOp::Sub: return map_binary<T, T, T>(out, a, b, [](T x, T y) { return T(x - y); });
        case BinaryOp::Mul: return map_binary<T, T, T>(out, a, b, [](T x, T y) { return T(x * y); });
        case BinaryOp::Div:
            if constexpr (std::is_floating_point_v<T>) {
                return map_binary<T, T, T>(out, a, b, [](T x, T y) { return x / y; });
            }
            break;
        case BinaryOp::Pow:
            if constexpr (std::is_floating_point_v<T>) {
                return map_binary<T, T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); });
            }
            break;
        case BinaryOp::Maximum: return map_binary<T, T, T>(out, a, b, [](T x, T y) { return max_nan(x, y); });
        case BinaryOp::Minimum: return map_binary<T, T, T>(out, a, b, [](T x, T y) { return min_nan(x, y); });
        case BinaryOp::Eq: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x == y; });
        case BinaryOp::Ne: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x != y; });
        case BinaryOp::Lt: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x < y; });
        case BinaryOp::Le: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x <= y; });
        case BinaryOp::Gt: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x > y; });
        case BinaryOp::Ge: return map_binary<bool, T, T>(out, a, b, [](T x, T y) { return x >= y; });
        case BinaryOp::LogicalAnd:
        case BinaryOp::LogicalOr: break;
    }
    WSOL_FAIL(binary_op_name(op), ": not defined for ", dtype_name(a.dtype()));
}

}  // namespace

void unary(UnaryOp op, const Tensor& out, const Tensor& x) {
    if (x.dtype() == kBool) {
        WSOL_CHECK(op == UnaryOp::LogicalNot, unary_op_name(op), ": not defined for bool");
        return map_unary<bool, bool>(out, x, [](bool v) { return !v; });
    }
    if (is_floating(x.dtype())) {
        dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
            unary_floating<typename decltype(tag)::type>(op, out, x);
        });
    } else {
        dispatch_numeric(x.dtype(), unary_op_name(op), [&](auto tag) {
            unary_integral<typename decltype(tag)::type>(op, out, x);
        });
    }
}

void unary_grad(UnaryOp op, const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, const Tensor& y) {
    dispatch_floating(grad_y.dtype(), unary_op_name(op), [&](auto tag) {
        using T = typename decltype(tag)::type;
        switch (op) {
            // Derivatives in terms of the input x ...
            case UnaryOp::Gelu:
                return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) { return g * gelu_erf_grad(v); },
                                           float_only<T>(gelu_erf_grad_run));
            case UnaryOp::GeluTanh:
                return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) { return g * gelu_tanh_grad(v); },
                                           float_only<T>(gelu_tanh_grad_run));
            case UnaryOp::Relu:
                return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) { return v > T(0) ? g : T(0); });
            case UnaryOp::Abs:
                return map_binary<T, T, T>(grad_x, grad_y, x,
                                           [](T g, T v) { return g * T((v > T(0)) - (v < T(0))); });
            case UnaryOp::Log: return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) { return g / v; });
            case UnaryOp::Square: return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) { return T(2) * g * v; });
            case UnaryOp::Tanhshrink:
                return map_binary<T, T, T>(grad_x, grad_y, x, [](T g, T v) {
                    const T t = std::tanh(v);
                    return g * t * t;
                });
            // ... or in terms of the output y (cheaper: no transcendental function again).
            case UnaryOp::Exp: return map_binary<T, T, T>(grad_x, grad_y, y, [](T g, T o) { return g * o; });
            case UnaryOp::Sqrt: return map_binary<T, T, T>(grad_x, grad_y, y, [](T g, T o) { return g / (T(2) * o); });
            case UnaryOp::Rsqrt:
                return map_binary<T, T, T>(grad_x, grad_y, y, [](T g, T o) { return T(-0.5) * g * o * o * o; });
            case UnaryOp::Sigmoid:
                return map_binary<T, T, T>(grad_x, grad_y, y, [](T g, T o) { return g * o * (T(1) - o); });
            case UnaryOp::Tanh:
                return map_binary<T, T, T>(grad_x, grad_y, y, [](T g, T o) { return g * (T(1) - o * o); });
            case UnaryOp::Neg: return map_unary<T, T>(grad_x, grad_y, [](T g) { return -g; });
            default: break;
        }
        WSOL_FAIL(unary_op_name(op), ": has no gradient");
    });
}

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
    if (op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr) {
        WSOL_CHECK(a.dtype() == kBool && b.dtype() == kBool, binary_op_name(op), ": expects bool tensors");
        if (op == BinaryOp::LogicalAnd) return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x && y; });
        return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x || y; });
    }
    if (a.dtype() == kBool && (op == BinaryOp::Eq || op == BinaryOp::Ne)) {
        if (op == BinaryOp::Eq) return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x == y; });
        return map_binary<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x != y; });
    }
    dispatch_numeric(a.dtype(), binary_op_name(op), [&](auto tag) {
        binary_typed<typename decltype(tag)::type>(op, out, a, b);
    });
}

void binary_scalar(BinaryOp op, const Tensor& out, const Tensor& a, double scalar, bool scalar_first) {
    // A 0-dim host tensor holding the scalar in a's dtype, broadcast by the same loops.
    Tensor s = Tensor::empty({}, a.dtype(), kCPU);
    copy_into(s, Tensor::scalar<double>(scalar));
    if (scalar_first) {
        binary(op, out, s, a);
    } else {
        binary(op, out, a, s);
    }
}

void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
    WSOL_CHECK(cond.dtype() == kBool, "where: condition must be bool, got ", dtype_name(cond.dtype()));
    dispatch_all(out.dtype(), "where", [&](auto tag) {
        using T = typename decltype(tag)::type;
        StridedLoop<4> loop(out.shape(), {out, cond, a, b});
        loop.run([](std::array<char*, 4> p, std::array<int64_t, 4> s, int64_t n) {
            for (int64_t i = 0; i < n; ++i) {
                const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
                *reinterpret_cast<T*>(p[0] + i * s[0]) =
                    c ? *reinterpret_cast<const T*>(p[2] + i * s[2]) : *reinterpret_cast<const T*>(p[3] + i * s[3]);
            }
        });
    });
}

void clamp(const Tensor& out, const Tensor& x, double lo, double hi) {
    dispatch_numeric(x.dtype(), "clamp", [&](auto tag) {
        using T = typename decltype(tag)::type;
        map_unary<T, T>(out, x, [lo, hi](T v) {
            if constexpr (std::is_floating_point_v<T>) {
                if (v != v) return v;  // NaN stays NaN
            }
            const double d = double(v);
            return d < lo ? T(lo) : (d > hi ? T(hi) : v);
        });
    });
}

void clamp_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, double lo, double hi) {
    dispatch_floating(x.dtype(), "clamp", [&](auto tag) {
        using T = typename decltype(tag)::type;
        map_binary<T, T, T>(grad_x, grad_y, x, [lo, hi](T g, T v) {
            const double d = double(v);
            return d >= lo && d <= hi ? g : T(0);
        });
    });
}

void fill(const Tensor& out, double value) {
    dispatch_all(out.dtype(), "fill", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = convert<T>(value);
        StridedLoop<1> loop(out.shape(), {out});
        loop.run([v](std::array<char*, 1> p, std::array<int64_t, 1> s, int64_t n) {
            for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
        });
    });
}

void arange(const Tensor& out) {
    dispatch_numeric(out.dtype(), "arange", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* o = out.data<T>();
        for (int64_t i = 0; i < out.numel(); ++i) o[i] = T(i);
    });
}

void add_scaled(const Tensor& x, const Tensor& y, double alpha) {
    dispatch_floating(x.dtype(), "add_", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T a = T(alpha);
        map_binary<T, T, T>(x, x, y, [a](T u, T v) { return u + a * v; });
    });
}

}  // namespace wsol::cpu
