// CUDA binary elementwise kernels (ops/cuda/elementwise.h): arithmetic, maximum/minimum,
// comparisons and logical ops, on two tensors or on a tensor and a scalar kernel argument.
#include "ops/cuda/elementwise.h"

#include "engine/cuda/loops.cuh"
#include "engine/dispatch.h"
#include "ops/cuda/device_math.cuh"

namespace wsol::cuda {

namespace {

// T is the compute type. Integer results wrap to the type like the CPU's T(x + y).
struct Add {
    template <class T>
    __device__ T operator()(T x, T y) const { return T(x + y); }
};
struct Sub {
    template <class T>
    __device__ T operator()(T x, T y) const { return T(x - y); }
};
struct Mul {
    template <class T>
    __device__ T operator()(T x, T y) const { return T(x * y); }
};
struct Div {
    template <class T>
    __device__ T operator()(T x, T y) const { return x / y; }
};
struct Pow {
    template <class T>
    __device__ T operator()(T x, T y) const { return dmath::pow(x, y); }
};
// maximum/minimum propagate NaN like PyTorch (and the CPU kernels).
struct Maximum {
    template <class T>
    __device__ T operator()(T x, T y) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (x != x) return x;
            if (y != y) return y;
        }
        return x > y ? x : y;
    }
};
struct Minimum {
    template <class T>
    __device__ T operator()(T x, T y) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (x != x) return x;
            if (y != y) return y;
        }
        return x < y ? x : y;
    }
};
struct Eq {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x == y; }
};
struct Ne {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x != y; }
};
struct Lt {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x < y; }
};
struct Le {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x <= y; }
};
struct Gt {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x > y; }
};
struct Ge {
    template <class T>
    __device__ bool operator()(T x, T y) const { return x >= y; }
};
struct LogicalAnd {
    __device__ bool operator()(bool x, bool y) const { return x && y; }
};
struct LogicalOr {
    __device__ bool operator()(bool x, bool y) const { return x || y; }
};

// A binary functor with one operand fixed to a scalar (in the compute type).
template <class F, class S>
struct WithScalar {
    F f;
    S scalar;
    bool scalar_first;
    template <class T>
    __device__ auto operator()(T v) const {
        return scalar_first ? f(scalar, v) : f(v, scalar);
    }
};

// Calls launch(Tag<Out>{}, functor) with the functor of `op` for storage type T, or fails.
template <class T, class Launch>
void visit_binary(BinaryOp op, DType dtype, Launch&& launch) {
    switch (op) {
        case BinaryOp::Add: return launch(Tag<T>{}, Add{});
        case BinaryOp::Sub: return launch(Tag<T>{}, Sub{});
        case BinaryOp::Mul: return launch(Tag<T>{}, Mul{});
        case BinaryOp::Div:
            if constexpr (is_float_type<T>) return launch(Tag<T>{}, Div{});
            break;
        case BinaryOp::Pow:
            if constexpr (is_float_type<T>) return launch(Tag<T>{}, Pow{});
            break;
        case BinaryOp::Maximum: return launch(Tag<T>{}, Maximum{});
        case BinaryOp::Minimum: return launch(Tag<T>{}, Minimum{});
        case BinaryOp::Eq: return launch(Tag<bool>{}, Eq{});
        case BinaryOp::Ne: return launch(Tag<bool>{}, Ne{});
        case BinaryOp::Lt: return launch(Tag<bool>{}, Lt{});
        case BinaryOp::Le: return launch(Tag<bool>{}, Le{});
        case BinaryOp::Gt: return launch(Tag<bool>{}, Gt{});
        case BinaryOp::Ge: return launch(Tag<bool>{}, Ge{});
        case BinaryOp::LogicalAnd:
        case BinaryOp::LogicalOr: break;
    }
    WSOL_FAIL(binary_op_name(op), ": not defined for ", dtype_name(dtype), " (on CUDA)");
}

// Calls f(Tag<T>{}) for the numeric storage types the CUDA kernels support.
template <class F>
void dispatch_numeric_cuda(DType dtype, const char* name, F&& f) {
    switch (dtype) {
        case kFloat32: return f(Tag<float>{});
        case kFloat64: return f(Tag<double>{});
        case kBFloat16: return f(Tag<__nv_bfloat16>{});
        case kInt32: return f(Tag<int32_t>{});
        case kInt64: return f(Tag<int64_t>{});
        case kUInt8: return f(Tag<uint8_t>{});
        default: break;
    }
    WSOL_FAIL(name, " on CUDA: dtype ", dtype_name(dtype),
              " is not supported (float32, float64, bfloat16, int32, int64, uint8 are)");
}

// Bool operands: the logical ops and ==, !=. Returns false when `op` is none of them.
template <class Launch>
bool visit_bool(BinaryOp op, Launch&& launch) {
    switch (op) {
        case BinaryOp::LogicalAnd: launch(LogicalAnd{}); return true;
        case BinaryOp::LogicalOr: launch(LogicalOr{}); return true;
        case BinaryOp::Eq: launch(Eq{}); return true;
        case BinaryOp::Ne: launch(Ne{}); return true;
        default: return false;
    }
}

// The host value of `scalar` rounded to storage type T, then widened to T's compute type, so that
// the kernel sees exactly what the CPU's 0-dim tensor in a's dtype holds.
template <class T>
compute_t<T> scalar_as(double scalar) {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
        return static_cast<float>(BFloat16(static_cast<float>(scalar)));
    } else {
        return convert<T>(scalar);
    }
}

}  // namespace

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
    const char* name = binary_op_name(op);
    if (op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr) {
        WSOL_CHECK(a.dtype() == kBool && b.dtype() == kBool, name, ": expects bool tensors");
    }
    if (a.dtype() == kBool) {
        const bool known = visit_bool(op, [&](auto f) { launch_binary<bool, bool, bool>(name, out, a, b, f); });
        WSOL_CHECK(known, name, ": not defined for bool");
        return;
    }
    dispatch_numeric_cuda(a.dtype(), name, [&](auto tag) {
        using T = typename decltype(tag)::type;
        visit_binary<T>(op, a.dtype(), [&](auto out_tag, auto f) {
            using O = typename decltype(out_tag)::type;
            launch_binary<O, T, T>(name, out, a, b, f);
        });
    });
}

void binary_scalar(BinaryOp op, const Tensor& out, const Tensor& a, double scalar, bool scalar_first) {
    const char* name = binary_op_name(op);
    if (a.dtype() == kBool) {
        const bool s = scalar != 0.0;
        const bool known = visit_bool(op, [&](auto f) {
            launch_unary<bool, bool>(name, out, a, WithScalar<decltype(f), bool>{f, s, scalar_first});
        });
        WSOL_CHECK(known, name, ": not defined for bool");
        return;
    }
    dispatch_numeric_cuda(a.dtype(), name, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const compute_t<T> s = scalar_as<T>(scalar);
        visit_binary<T>(op, a.dtype(), [&](auto out_tag, auto f) {
            using O = typename decltype(out_tag)::type;
            launch_unary<O, T>(name, out, a, WithScalar<decltype(f), compute_t<T>>{f, s, scalar_first});
        });
    });
}

}  // namespace wsol::cuda
