// CUDA unary elementwise kernels and their gradients (ops/cuda/elementwise.h). Each op is a small
// functor run by the loops of engine/cuda/loops.cuh; the formulas are those of
// ops/cpu/elementwise.cpp. Binary ops are in elementwise_binary.cu, where/clamp/fill/add_ in
// elementwise_misc.cu.
#include "ops/cuda/elementwise.h"

#include "engine/cuda/loops.cuh"
#include "ops/cuda/device_math.cuh"

namespace wsol::cuda {

namespace {

// ---- forward functors (T is the compute type: float, double or an integer) -----------------------

struct Neg {
    template <class T>
    __device__ T operator()(T v) const { return T(-v); }
};
struct Exp {
    template <class T>
    __device__ T operator()(T v) const { return dmath::exp(v); }
};
struct Log {
    template <class T>
    __device__ T operator()(T v) const { return dmath::log(v); }
};
struct Sqrt {
    template <class T>
    __device__ T operator()(T v) const { return dmath::sqrt(v); }
};
struct Rsqrt {  // 1/sqrt(v) rather than the approximate rsqrt instruction, as on the CPU
    template <class T>
    __device__ T operator()(T v) const { return T(1) / dmath::sqrt(v); }
};
struct Abs {
    template <class T>
    __device__ T operator()(T v) const {
        if constexpr (std::is_floating_point_v<T>) {
            return dmath::fabs(v);
        } else if constexpr (std::is_unsigned_v<T>) {
            return v;
        } else {
            return v < T(0) ? T(-v) : v;
        }
    }
};
struct Sign {
    template <class T>
    __device__ T operator()(T v) const {
        if constexpr (std::is_unsigned_v<T>) return T(v > T(0)); else return T((v > T(0)) - (v < T(0)));
    }
};
struct Square {
    template <class T>
    __device__ T operator()(T v) const { return T(v * v); }
};
struct Relu {
    template <class T>
    __device__ T operator()(T v) const { return v > T(0) ? v : T(0); }
};
struct Sigmoid {
    template <class T>
    __device__ T operator()(T v) const { return T(1) / (T(1) + dmath::exp(-v)); }
};
struct Tanh {
    template <class T>
    __device__ T operator()(T v) const { return dmath::tanh(v); }
};
struct Gelu {
    template <class T>
    __device__ T operator()(T v) const { return dmath::gelu_erf(v); }
};
struct GeluTanh {
    template <class T>
    __device__ T operator()(T v) const { return dmath::gelu_tanh(v); }
};
struct Tanhshrink {
    template <class T>
    __device__ T operator()(T v) const { return v - dmath::tanh(v); }
};
struct IsFinite {
    template <class T>
    __device__ bool operator()(T v) const {
        if constexpr (std::is_floating_point_v<T>) return ::isfinite(v); else return true;
    }
};
struct LogicalNot {
    __device__ bool operator()(bool v) const { return !v; }
};

// ---- gradient functors: (g, v) -> g * f'(x), v being the saved input x or output y -------------

struct GeluGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return g * dmath::gelu_erf_grad(x); }
};
struct GeluTanhGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return g * dmath::gelu_tanh_grad(x); }
};
struct ReluGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return x > T(0) ? g : T(0); }
};
struct AbsGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return g * T((x > T(0)) - (x < T(0))); }
};
struct LogGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return g / x; }
};
struct SquareGrad {
    template <class T>
    __device__ T operator()(T g, T x) const { return T(2) * g * x; }
};
struct TanhshrinkGrad {
    template <class T>
    __device__ T operator()(T g, T x) const {
        const T t = dmath::tanh(x);
        return g * t * t;
    }
};
struct ExpGrad {
    template <class T>
    __device__ T operator()(T g, T y) const { return g * y; }
};
struct SqrtGrad {
    template <class T>
    __device__ T operator()(T g, T y) const { return g / (T(2) * y); }
};
struct RsqrtGrad {
    template <class T>
    __device__ T operator()(T g, T y) const { return T(-0.5) * g * y * y * y; }
};
struct SigmoidGrad {
    template <class T>
    __device__ T operator()(T g, T y) const { return g * y * (T(1) - y); }
};
struct TanhGrad {
    template <class T>
    __device__ T operator()(T g, T y) const { return g * (T(1) - y * y); }
};

template <class T>
void unary_floating(UnaryOp op, const Tensor& out, const Tensor& x) {
    const char* name = unary_op_name(op);
    switch (op) {
        case UnaryOp::Neg: return launch_unary<T, T>(name, out, x, Neg{});
        case UnaryOp::Exp: return launch_unary<T, T>(name, out, x, Exp{});
        case UnaryOp::Log: return launch_unary<T, T>(name, out, x, Log{});
        case UnaryOp::Sqrt: return launch_unary<T, T>(name, out, x, Sqrt{});
        case UnaryOp::Rsqrt: return launch_unary<T, T>(name, out, x, Rsqrt{});
        case UnaryOp::Abs: return launch_unary<T, T>(name, out, x, Abs{});
        case UnaryOp::Sign: return launch_unary<T, T>(name, out, x, Sign{});
        case UnaryOp::Square: return launch_unary<T, T>(name, out, x, Square{});
        case UnaryOp::Relu: return launch_unary<T, T>(name, out, x, Relu{});
        case UnaryOp::Sigmoid: return launch_unary<T, T>(name, out, x, Sigmoid{});
        case UnaryOp::Tanh: return launch_unary<T, T>(name, out, x, Tanh{});
        case UnaryOp::Gelu: return launch_unary<T, T>(name, out, x, Gelu{});
        case UnaryOp::GeluTanh: return launch_unary<T, T>(name, out, x, GeluTanh{});
        case UnaryOp::Tanhshrink: return launch_unary<T, T>(name, out, x, Tanhshrink{});
        case UnaryOp::IsFinite: return launch_unary<bool, T>(name, out, x, IsFinite{});
        case UnaryOp::LogicalNot: break;
    }
    WSOL_FAIL(name, ": not defined for ", dtype_name(x.dtype()), " (on CUDA)");
}

template <class T>
void unary_integral(UnaryOp op, const Tensor& out, const Tensor& x) {
    const char* name = unary_op_name(op);
    switch (op) {
        case UnaryOp::Neg: return launch_unary<T, T>(name, out, x, Neg{});
        case UnaryOp::Abs: return launch_unary<T, T>(name, out, x, Abs{});
        case UnaryOp::Sign: return launch_unary<T, T>(name, out, x, Sign{});
        case UnaryOp::Square: return launch_unary<T, T>(name, out, x, Square{});
        case UnaryOp::IsFinite: return launch_unary<bool, T>(name, out, x, IsFinite{});
        default: break;
    }
    WSOL_FAIL(name, ": not defined for ", dtype_name(x.dtype()), " (on CUDA)");
}

}  // namespace

void unary(UnaryOp op, const Tensor& out, const Tensor& x) {
    const char* name = unary_op_name(op);
    switch (x.dtype()) {
        case kBool:
            WSOL_CHECK(op == UnaryOp::LogicalNot, name, ": not defined for bool");
            return launch_unary<bool, bool>(name, out, x, LogicalNot{});
        case kFloat32: return unary_floating<float>(op, out, x);
        case kFloat64: return unary_floating<double>(op, out, x);
        case kBFloat16: return unary_floating<__nv_bfloat16>(op, out, x);
        case kInt32: return unary_integral<int32_t>(op, out, x);
        case kInt64: return unary_integral<int64_t>(op, out, x);
        case kUInt8: return unary_integral<uint8_t>(op, out, x);
        default: break;
    }
    WSOL_FAIL(name, " on CUDA: dtype ", dtype_name(x.dtype()),
              " is not supported (float32, float64, bfloat16, int32, int64, uint8 are)");
}

void unary_grad(UnaryOp op, const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, const Tensor& y) {
    const char* name = unary_op_name(op);
    auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        switch (op) {
            // Derivatives in terms of the input x ...
            case UnaryOp::Gelu: return launch_binary<T, T, T>(name, grad_x, grad_y, x, GeluGrad{});
            case UnaryOp::GeluTanh: return launch_binary<T, T, T>(name, grad_x, grad_y, x, GeluTanhGrad{});
            case UnaryOp::Relu: return launch_binary<T, T, T>(name, grad_x, grad_y, x, ReluGrad{});
            case UnaryOp::Abs: return launch_binary<T, T, T>(name, grad_x, grad_y, x, AbsGrad{});
            case UnaryOp::Log: return launch_binary<T, T, T>(name, grad_x, grad_y, x, LogGrad{});
            case UnaryOp::Square: return launch_binary<T, T, T>(name, grad_x, grad_y, x, SquareGrad{});
            case UnaryOp::Tanhshrink: return launch_binary<T, T, T>(name, grad_x, grad_y, x, TanhshrinkGrad{});
            // ... or in terms of the output y.
            case UnaryOp::Exp: return launch_binary<T, T, T>(name, grad_x, grad_y, y, ExpGrad{});
            case UnaryOp::Sqrt: return launch_binary<T, T, T>(name, grad_x, grad_y, y, SqrtGrad{});
            case UnaryOp::Rsqrt: return launch_binary<T, T, T>(name, grad_x, grad_y, y, RsqrtGrad{});
            case UnaryOp::Sigmoid: return launch_binary<T, T, T>(name, grad_x, grad_y, y, SigmoidGrad{});
            case UnaryOp::Tanh: return launch_binary<T, T, T>(name, grad_x, grad_y, y, TanhGrad{});
            case UnaryOp::Neg: return launch_unary<T, T>(name, grad_x, grad_y, Neg{});
            default: break;
        }
        WSOL_FAIL(name, ": has no gradient");
    };
    switch (grad_y.dtype()) {
        case kFloat32: return run(Tag<float>{});
        case kFloat64: return run(Tag<double>{});
        case kBFloat16: return run(Tag<__nv_bfloat16>{});
        default: break;
    }
    WSOL_FAIL(name, " backward on CUDA: dtype ", dtype_name(grad_y.dtype()),
              " is not supported (float32, float64, bfloat16 are)");
}

}  // namespace wsol::cuda
