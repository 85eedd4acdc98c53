// CUDA elementwise losses (ops/cuda/loss.h): binary cross-entropy on probabilities and on logits,
// squared and absolute error, forward and both gradients. Each is one strided kernel over the
// output's shape with an offset per operand (engine/cuda/loops.cuh's OffsetCalculator), so any
// view works and weight / pos_weight / a reduced output gradient broadcast with stride 0. The
// formulas are those of ops/cpu/loss.cpp, including PyTorch's clamp of the logs at -100 and of
// p (1 - p) at 1e-12, and written so that NaN propagates as it does there (no fmax/fmin, which
// would drop a NaN).
#include "engine/cuda/loops.cuh"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/loss.h"

namespace wsol::cuda {

namespace {

template <class A>
__device__ __forceinline__ A larger(A a, A b) {
    return a < b ? b : a;  // std::max's rule: a NaN in `a` is kept
}
template <class A>
__device__ __forceinline__ A clamped_log(A v) {
    return larger(log_acc(v), A(-100));
}
__device__ __forceinline__ float log1p_acc(float v) { return ::log1pf(v); }
__device__ __forceinline__ double log1p_acc(double v) { return ::log1p(v); }
// softplus(-x) = log(1 + exp(-x)), stably.
template <class A>
__device__ __forceinline__ A softplus_neg(A x) {
    const A ax = x < A(0) ? -x : x;
    return log1p_acc(exp_acc(-ax)) + larger(-x, A(0));
}
template <class A>
__device__ __forceinline__ A sigmoid(A x) {
    return A(1) / (A(1) + exp_acc(-x));
}

// out = f(x, t, w, pw) over out's shape; w and pw may be null (then 1).
template <class T, class F>
__global__ void loss_kernel(T* out, const T* x, const T* t, const T* w, const T* pw, OffsetCalculator<5> calc,
                            uint32_t n, F f, int* flag) {
    using A = acc_type<T>;
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[5];
        calc.get(i, off);
        const A wv = w ? A(to_compute(w[off[3]])) : A(1), pv = pw ? A(to_compute(pw[off[4]])) : A(1);
        out[off[0]] = device_convert<T>(f(A(to_compute(x[off[1]])), A(to_compute(t[off[2]])), wv, pv, flag));
    }
}

// grad = f(g, x, t, w, pw) over grad's shape.
template <class T, class F>
__global__ void loss_grad_kernel(T* grad, const T* g, const T* x, const T* t, const T* w, const T* pw,
                                 OffsetCalculator<6> calc, uint32_t n, F f) {
    using A = acc_type<T>;
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[6];
        calc.get(i, off);
        const A wv = w ? A(to_compute(w[off[4]])) : A(1), pv = pw ? A(to_compute(pw[off[5]])) : A(1);
        grad[off[0]] =
            device_convert<T>(f(A(to_compute(g[off[1]])), A(to_compute(x[off[2]])), A(to_compute(t[off[3]])), wv, pv));
    }
}

// ---- forward functors: (x, t, w, pw, flag) ----------------------------------------------------

struct BceForward {
    template <class A>
    __device__ A operator()(A p, A t, A w, A, int* flag) const {
        if (!(p >= A(0) && p <= A(1))) *flag = 1;
        return -w * (t * clamped_log(p) + (A(1) - t) * clamped_log(A(1) - p));
    }
};
struct BceLogitsForward {
    template <class A>
    __device__ A operator()(A x, A t, A w, A pw, int*) const {
        return w * ((A(1) - t) * x + (A(1) + (pw - A(1)) * t) * softplus_neg(x));
    }
};
struct SquaredForward {
    template <class A>
    __device__ A operator()(A a, A b, A, A, int*) const { return (a - b) * (a - b); }
};
struct AbsoluteForward {
    template <class A>
    __device__ A operator()(A a, A b, A, A, int*) const {
        const A d = a - b;
        return d < A(0) ? -d : d;
    }
};

// ---- gradient functors: (g, x, t, w, pw) -------------------------------------------------------

struct BceGradInput {
    template <class A>
    __device__ A operator()(A g, A p, A t, A w, A) const { return g * w * (p - t) / larger((A(1) - p) * p, A(1e-12)); }
};
struct BceGradTarget {  // the derivative of the clamped forward: -w (log p - log(1 - p))
    template <class A>
    __device__ A operator()(A g, A p, A, A w, A) const { return -g * w * (clamped_log(p) - clamped_log(A(1) - p)); }
};
struct BceLogitsGradInput {
    template <class A>
    __device__ A operator()(A g, A x, A t, A w, A pw) const {
        return g * w * ((A(1) + (pw - A(1)) * t) * sigmoid(x) - pw * t);
    }
};
struct BceLogitsGradTarget {
    template <class A>
    __device__ A operator()(A g, A x, A, A w, A pw) const { return g * w * ((pw - A(1)) * softplus_neg(x) - x); }
};
struct SquaredGrad {
    double side;  // 2 for the input, -2 for the target
    template <class A>
    __device__ A operator()(A g, A a, A b, A, A) const { return A(side) * g * (a - b); }
};
struct AbsoluteGrad {
    double side;
    template <class A>
    __device__ A operator()(A g, A a, A b, A, A) const {
        const A d = a - b;
        return A(side) * g * A((d > A(0)) - (d < A(0)));
    }
};

template <class T, class F>
void run_forward(const Tensor& out, const Tensor& x, const Tensor& t, const Tensor& w, const Tensor& pw, F f,
                 int* flag) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const auto calc = make_offset_calculator<5>("loss", out.shape(),
                                                {&out, &x, &t, w.defined() ? &w : &out, pw.defined() ? &pw : &out});
    cudaStream_t stream = prepare(out);
    loss_kernel<T><<<grid_size(n, kBlockThreads, out.device().index), kBlockThreads, 0, stream>>>(
        ptr<T>(out), ptr<T>(x), ptr<T>(t), ptr<T>(w), ptr<T>(pw), calc, uint32_t(n), f, flag);
    WSOL_CUDA_CHECK_LAUNCH();
}

template <class T, class F>
void run_grad(const Tensor& grad, const Tensor& g, const Tensor& x, const Tensor& t, const Tensor& w, const Tensor& pw,
              F f) {
    const int64_t n = grad.numel();
    if (n == 0) return;
    const auto calc = make_offset_calculator<6>(
        "loss backward", grad.shape(), {&grad, &g, &x, &t, w.defined() ? &w : &grad, pw.defined() ? &pw : &grad});
    cudaStream_t stream = prepare(grad);
    loss_grad_kernel<T><<<grid_size(n, kBlockThreads, grad.device().index), kBlockThreads, 0, stream>>>(
        ptr<T>(grad), ptr<T>(g), ptr<T>(x), ptr<T>(t), ptr<T>(w), ptr<T>(pw), calc, uint32_t(n), f);
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace

void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input, const Tensor& target,
                    const Tensor& weight, const Tensor& pos_weight) {
    dispatch_floating_device(input.dtype(), "loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        switch (kind) {
            case PointwiseLoss::BinaryCrossEntropy: {
                Tensor flag = Tensor::zeros({1}, kInt32, input.device());
                run_forward<T>(out, input, target, weight, pos_weight, BceForward{}, ptr<int>(flag));
                WSOL_CHECK(input.numel() == 0 || flag.item<int32_t>() == 0,
                           "binary_cross_entropy: all elements of the input must be probabilities in [0, 1] (use "
                           "binary_cross_entropy_with_logits on logits)");
                return;
            }
            case PointwiseLoss::BinaryCrossEntropyWithLogits:
                return run_forward<T>(out, input, target, weight, pos_weight, BceLogitsForward{}, nullptr);
            case PointwiseLoss::SquaredError:
                return run_forward<T>(out, input, target, weight, pos_weight, SquaredForward{}, nullptr);
            case PointwiseLoss::AbsoluteError:
                return run_forward<T>(out, input, target, weight, pos_weight, AbsoluteForward{}, nullptr);
        }
    });
}

void pointwise_loss_backward(PointwiseLoss kind, bool wrt_target, const Tensor& grad, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& weight,
                             const Tensor& pos_weight) {
    dispatch_floating_device(input.dtype(), "loss backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        auto run = [&](auto f) { run_grad<T>(grad, grad_out, input, target, weight, pos_weight, f); };
        switch (kind) {
            case PointwiseLoss::BinaryCrossEntropy:
                return wrt_target ? run(BceGradTarget{}) : run(BceGradInput{});
            case PointwiseLoss::BinaryCrossEntropyWithLogits:
                return wrt_target ? run(BceLogitsGradTarget{}) : run(BceLogitsGradInput{});
            case PointwiseLoss::SquaredError: return run(SquaredGrad{wrt_target ? -2.0 : 2.0});
            case PointwiseLoss::AbsoluteError: return run(AbsoluteGrad{wrt_target ? -1.0 : 1.0});
        }
    });
}

}  // namespace wsol::cuda
