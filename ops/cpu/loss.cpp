// CPU loss kernels.
//
// Class-index losses see the logits as (N, C, S): position i = (n, s) owns the C values
// x[n, :, s], spaced S apart (S = 1 for plain (N, C) logits, where each position is a contiguous
// row and the loops vectorise). Cross-entropy is fused: per position one pass for the maximum,
// one for sum(exp(x - max)), and (with label smoothing) one for sum_c w_c (lse - x_c), all on
// values already in cache; lse is saved so the backward pass needs a single sweep:
//   d loss_i / d x_c = p_c ((1 - eps) w_t + eps/C W) - eps/C w_c - [c == t] (1 - eps) w_t,
// with p_c = exp(x_c - lse), W = sum_c w_c.
//
// Elementwise losses are one StridedLoop over (out, input, target, weight, pos_weight); operands
// that broadcast (weight, pos_weight, a reduced gradient) simply have stride 0.
#include "ops/cpu/loss.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"
#include "ops/cpu/vec_math.h"

namespace wsol::cpu {

namespace {

struct ClassLayout {
    int64_t batch, classes, spatial;  // x: (N, C, S)
};

ClassLayout class_layout(const Tensor& x) {
    ClassLayout l{x.shape()[0], x.shape()[1], 1};
    for (int64_t d = 2; d < x.dim(); ++d) l.spatial *= x.shape()[size_t(d)];
    return l;
}

bool large(int64_t work) { return work >= 2 * kParallelGrain; }

// One position of cross-entropy: returns the loss and stores lse. `stride` is the class stride.
template <class T>
T cross_entropy_position(const T* x, int64_t classes, int64_t stride, int64_t t, const T* w, double smoothing,
                         T& lse_out) {
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < classes; ++c) m = x[c * stride] > m ? x[c * stride] : m;
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < classes; ++c) s += double(vec_exp(T(x[c * stride] - m)));
    const double lse = double(m) + std::log(s);
    lse_out = T(lse);
    const double w_t = w ? double(w[t]) : 1.0;
    double loss = (1.0 - smoothing) * w_t * (lse - double(x[t * stride]));
    if (smoothing > 0.0) {
        double smooth = 0.0;
#pragma omp simd reduction(+ : smooth)
        for (int64_t c = 0; c < classes; ++c) smooth += (w ? double(w[c]) : 1.0) * (lse - double(x[c * stride]));
        loss += smoothing / double(classes) * smooth;
    }
    return T(loss);
}

template <class T>
void cross_entropy_backward_position(T* gx, const T* x, int64_t classes, int64_t stride, int64_t t, const T* w,
                                     double total_w, double smoothing, T lse, T g) {
    const double w_t = w ? double(w[t]) : 1.0;
    const double eps_c = smoothing / double(classes);
    const T a = T(double(g) * ((1.0 - smoothing) * w_t + eps_c * total_w));
    const T b = T(double(g) * eps_c);
    if (w) {
#pragma omp simd
        for (int64_t c = 0; c < classes; ++c) gx[c * stride] = vec_exp(T(x[c * stride] - lse)) * a - b * w[c];
    } else {
#pragma omp simd
        for (int64_t c = 0; c < classes; ++c) gx[c * stride] = vec_exp(T(x[c * stride] - lse)) * a - b;
    }
    gx[t * stride] -= T(double(g) * (1.0 - smoothing) * w_t);
}

template <class T>
void zero_position(T* gx, int64_t classes, int64_t stride) {
    for (int64_t c = 0; c < classes; ++c) gx[c * stride] = T(0);
}

template <class T>
double total_weight(const T* w, int64_t classes) {
    if (!w) return double(classes);
    double s = 0.0;
    for (int64_t c = 0; c < classes; ++c) s += double(w[c]);
    return s;
}

// ---- elementwise losses ---------------------------------------------------------------------------

// log clamped at -100, as PyTorch's binary_cross_entropy.
template <class T>
T clamped_log(T v) {
    return std::max(T(std::log(v)), T(-100));
}
// softplus(-x) = log(1 + exp(-x)), stably.
template <class T>
T softplus_neg(T x) {
    return T(std::log1p(std::exp(-std::fabs(x)))) + std::max(-x, T(0));
}
template <class T>
T sigmoid(T x) {
    return T(1) / (T(1) + std::exp(-x));
}

// Calls f(out, x, t, w, pw) per element over StridedLoop<5>; w and pw default to a 0-dim 1.
template <class T, class F>
void map_loss(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& d, F f) {
    const Tensor one = Tensor::scalar<T>(T(1));
    StridedLoop<5> loop(out.shape(), {out, a, b, c.defined() ? c : one, d.defined() ? d : one});
    loop.run([&](std::array<char*, 5> p, std::array<int64_t, 5> s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<T*>(p[0] + i * s[0]) =
                f(*reinterpret_cast<const T*>(p[1] + i * s[1]), *reinterpret_cast<const T*>(p[2] + i * s[2]),
                  *reinterpret_cast<const T*>(p[3] + i * s[3]), *reinterpret_cast<const T*>(p[4] + i * s[4]));
        }
    });
}

// Like map_loss with one more broadcast operand in front: f(g, x, t, w, pw).
template <class T, class F>
void map_loss_grad(const Tensor& out, const Tensor& g, const Tensor& a, const Tensor& b, const Tensor& c,
                   const Tensor& d, F f) {
    const Tensor one = Tensor::scalar<T>(T(1));
    StridedLoop<6> loop(out.shape(), {out, g, a, b, c.defined() ? c : one, d.defined() ? d : one});
    loop.run([&](std::array<char*, 6> p, std::array<int64_t, 6> s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<T*>(p[0] + i * s[0]) =
                f(*reinterpret_cast<const T*>(p[1] + i * s[1]), *reinterpret_cast<const T*>(p[2] + i * s[2]),
                  *reinterpret_cast<const T*>(p[3] + i * s[3]), *reinterpret_cast<const T*>(p[4] + i * s[4]),
                  *reinterpret_cast<const T*>(p[5] + i * s[5]));
        }
    });
}

}  // namespace

// ---- class-index losses -----------------------------------------------------------------------------

void cross_entropy(const Tensor& loss, const Tensor& lse, const Tensor& x, const Tensor& target,
                   const Tensor& class_weight, double smoothing, int64_t ignore_index) {
    dispatch_floating(x.dtype(), "cross_entropy", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(x);
        const T* in = x.data<T>();
        const int64_t* tg = target.data<int64_t>();
        const T* w = class_weight.defined() ? class_weight.data<T>() : nullptr;
        T* lo = loss.data<T>();
        T* ls = lse.data<T>();
        const int64_t positions = l.batch * l.spatial;
#pragma omp parallel for schedule(static) if (large(positions * l.classes))
        for (int64_t i = 0; i < positions; ++i) {
            const int64_t t = tg[i];
            if (t == ignore_index) {
                lo[i] = T(0);
                ls[i] = T(0);
                continue;
            }
            const int64_t n = i / l.spatial, s = i % l.spatial;
            const T* row = in + n * l.classes * l.spatial + s;
            lo[i] = cross_entropy_position(row, l.classes, l.spatial, t, w, smoothing, ls[i]);
        }
    });
}

void cross_entropy_backward(const Tensor& grad_x, const Tensor& grad_loss, const Tensor& x, const Tensor& lse,
                            const Tensor& target, const Tensor& class_weight, double smoothing, int64_t ignore_index) {
    dispatch_floating(x.dtype(), "cross_entropy", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(x);
        const T* in = x.data<T>();
        const T* g = grad_loss.data<T>();
        const T* ls = lse.data<T>();
        const int64_t* tg = target.data<int64_t>();
        const T* w = class_weight.defined() ? class_weight.data<T>() : nullptr;
        const double total_w = total_weight(w, l.classes);
        T* gx = grad_x.data<T>();
        const int64_t positions = l.batch * l.spatial;
#pragma omp parallel for schedule(static) if (large(positions * l.classes))
        for (int64_t i = 0; i < positions; ++i) {
            const int64_t n = i / l.spatial, s = i % l.spatial;
            const int64_t base = n * l.classes * l.spatial + s;
            if (tg[i] == ignore_index) {
                zero_position(gx + base, l.classes, l.spatial);
            } else {
                cross_entropy_backward_position(gx + base, in + base, l.classes, l.spatial, tg[i], w, total_w,
                                                smoothing, ls[i], g[i]);
            }
        }
    });
}

void nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, const Tensor& class_weight,
              int64_t ignore_index) {
    dispatch_floating(log_probs.dtype(), "nll_loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(log_probs);
        const T* in = log_probs.data<T>();
        const int64_t* tg = target.data<int64_t>();
        const T* w = class_weight.defined() ? class_weight.data<T>() : nullptr;
        T* lo = loss.data<T>();
        const int64_t positions = l.batch * l.spatial;
        for (int64_t i = 0; i < positions; ++i) {
            const int64_t t = tg[i];
            if (t == ignore_index) {
                lo[i] = T(0);
                continue;
            }
            const int64_t n = i / l.spatial, s = i % l.spatial;
            lo[i] = -(w ? w[t] : T(1)) * in[(n * l.classes + t) * l.spatial + s];
        }
    });
}

void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       const Tensor& class_weight, int64_t ignore_index) {
    dispatch_floating(grad_log_probs.dtype(), "nll_loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(grad_log_probs);
        const T* g = grad_loss.data<T>();
        const int64_t* tg = target.data<int64_t>();
        const T* w = class_weight.defined() ? class_weight.data<T>() : nullptr;
        T* gx = grad_log_probs.data<T>();
        std::fill(gx, gx + grad_log_probs.numel(), T(0));
        const int64_t positions = l.batch * l.spatial;
        for (int64_t i = 0; i < positions; ++i) {
            const int64_t t = tg[i];
            if (t == ignore_index) continue;
            const int64_t n = i / l.spatial, s = i % l.spatial;
            gx[(n * l.classes + t) * l.spatial + s] = -(w ? w[t] : T(1)) * g[i];
        }
    });
}

// ---- elementwise losses -------------------------------------------------------------------------------

void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input, const Tensor& target,
                    const Tensor& weight, const Tensor& pos_weight) {
    dispatch_floating(input.dtype(), "loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        switch (kind) {
            case PointwiseLoss::BinaryCrossEntropy: {
                std::atomic<bool> out_of_range{false};
                map_loss<T>(out, input, target, weight, pos_weight, [&](T p, T t, T w, T) {
                    if (!(p >= T(0) && p <= T(1))) out_of_range.store(true, std::memory_order_relaxed);
                    return -w * (t * clamped_log(p) + (T(1) - t) * clamped_log(T(1) - p));
                });
                WSOL_CHECK(!out_of_range.load(), "binary_cross_entropy: all elements of the input must be "
                           "probabilities in [0, 1] (use binary_cross_entropy_with_logits on logits)");
                return;
            }
            case PointwiseLoss::BinaryCrossEntropyWithLogits:
                return map_loss<T>(out, input, target, weight, pos_weight, [](T x, T t, T w, T pw) {
                    return w * ((T(1) - t) * x + (T(1) + (pw - T(1)) * t) * softplus_neg(x));
                });
            case PointwiseLoss::SquaredError:
                return map_loss<T>(out, input, target, weight, pos_weight, [](T a, T b, T, T) {
                    return (a - b) * (a - b);
                });
            case PointwiseLoss::AbsoluteError:
                return map_loss<T>(out, input, target, weight, pos_weight, [](T a, T b, T, T) {
                    return std::fabs(a - b);
                });
        }
    });
}

void pointwise_loss_backward(PointwiseLoss kind, bool wrt_target, const Tensor& grad, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& weight,
                             const Tensor& pos_weight) {
    dispatch_floating(input.dtype(), "loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        auto run = [&](auto f) { map_loss_grad<T>(grad, grad_out, input, target, weight, pos_weight, f); };
        switch (kind) {
            case PointwiseLoss::BinaryCrossEntropy:
                if (wrt_target) {  // the derivative of the clamped forward: -w (log p - log(1 - p))
                    return run([](T g, T p, T, T w, T) { return -g * w * (clamped_log(p) - clamped_log(T(1) - p)); });
                }
                return run([](T g, T p, T t, T w, T) {
                    return g * w * (p - t) / std::max((T(1) - p) * p, T(1e-12));
                });
            case PointwiseLoss::BinaryCrossEntropyWithLogits:
                if (wrt_target) {
                    return run([](T g, T x, T, T w, T pw) { return g * w * ((pw - T(1)) * softplus_neg(x) - x); });
                }
                return run([](T g, T x, T t, T w, T pw) {
                    return g * w * ((T(1) + (pw - T(1)) * t) * sigmoid(x) - pw * t);
                });
            case PointwiseLoss::SquaredError: {
                const T side = wrt_target ? T(-2) : T(2);
                return run([side](T g, T a, T b, T, T) { return side * g * (a - b); });
            }
            case PointwiseLoss::AbsoluteError: {
                const T side = wrt_target ? T(-1) : T(1);
                return run([side](T g, T a, T b, T, T) {
                    const T d = a - b;
                    return side * g * T((d > T(0)) - (d < T(0)));
                });
            }
        }
    });
}

}  // namespace wsol::cpu
