// CUDA where, clamp (and its gradient), fill and add_ (ops/cuda/elementwise.h).
#include <cmath>
#include <limits>

#include "engine/cuda/loops.cuh"
#include "engine/dispatch.h"
#include "ops/cuda/elementwise.h"

namespace wsol::cuda {

namespace {

struct Select {
    template <class T>
    __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

// Clamp in the compute type T; the comparison is done in double like the CPU kernel, and the
// bounds were rounded to the storage type on the host (lo_value, hi_value).
template <class T>
struct Clamp {
    double lo, hi;
    T lo_value, hi_value;
    __device__ T operator()(T v) const {
        if constexpr (std::is_floating_point_v<T>) {
            if (v != v) return v;  // NaN stays NaN
        }
        const double d = double(v);
        return d < lo ? lo_value : (d > hi ? hi_value : v);
    }
};

struct ClampGrad {
    double lo, hi;
    template <class T>
    __device__ T operator()(T g, T v) const {
        const double d = double(v);
        return d >= lo && d <= hi ? g : T(0);
    }
};

template <class T>
struct Constant {
    T value;
    __device__ T operator()() const { return value; }
};

template <class T>
struct AddScaled {
    T alpha;
    __device__ T operator()(T u, T v) const { return u + alpha * v; }
};

// A bound rounded to storage type T on the host (and widened to the compute type). Infinite or
// out-of-range bounds of integer types are never selected by the kernel (no value lies beyond
// them), so they are only clipped here to keep the conversion defined.
template <class T>
compute_t<T> bound_as(double bound) {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
        return static_cast<float>(BFloat16(static_cast<float>(bound)));
    } else if constexpr (std::is_integral_v<T>) {
        const double lowest = double(std::numeric_limits<T>::lowest()), highest = double(std::numeric_limits<T>::max());
        return T(std::isnan(bound) ? 0.0 : std::min(std::max(bound, lowest), highest));
    } else {
        return T(bound);
    }
}

template <class F>
void dispatch_floating_cuda(DType dtype, const char* name, F&& f) {
    switch (dtype) {
        case kFloat32: return f(Tag<float>{});
        case kFloat64: return f(Tag<double>{});
        case kBFloat16: return f(Tag<__nv_bfloat16>{});
        default: break;
    }
    WSOL_FAIL(name, " on CUDA: dtype ", dtype_name(dtype), " is not supported (float32, float64, bfloat16 are)");
}

}  // namespace

void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
    WSOL_CHECK(cond.dtype() == kBool, "where: condition must be bool, got ", dtype_name(cond.dtype()));
    dispatch_device(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch_ternary<T, bool, T, T>("where", out, cond, a, b, Select{});
    });
}

void clamp(const Tensor& out, const Tensor& x, double lo, double hi) {
    auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        launch_unary<T, T>("clamp", out, x, Clamp<C>{lo, hi, bound_as<T>(lo), bound_as<T>(hi)});
    };
    switch (x.dtype()) {
        case kFloat32: return run(Tag<float>{});
        case kFloat64: return run(Tag<double>{});
        case kBFloat16: return run(Tag<__nv_bfloat16>{});
        case kInt32: return run(Tag<int32_t>{});
        case kInt64: return run(Tag<int64_t>{});
        case kUInt8: return run(Tag<uint8_t>{});
        default: break;
    }
    WSOL_FAIL("clamp on CUDA: dtype ", dtype_name(x.dtype()),
              " is not supported (float32, float64, bfloat16, int32, int64, uint8 are)");
}

void clamp_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& x, double lo, double hi) {
    dispatch_floating_cuda(x.dtype(), "clamp backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch_binary<T, T, T>("clamp backward", grad_x, grad_y, x, ClampGrad{lo, hi});
    });
}

void fill(const Tensor& out, double value) {
    dispatch_device(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch_nullary<T>("fill", out, Constant<T>{device_convert<T>(value)});
    });
}

void add_scaled(const Tensor& x, const Tensor& y, double alpha) {
    dispatch_floating_cuda(x.dtype(), "add_", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        launch_binary<T, T, T>("add_", x, x, y, AddScaled<C>{C(alpha)});
    });
}

}  // namespace wsol::cuda
