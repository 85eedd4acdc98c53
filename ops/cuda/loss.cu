// CUDA class-index losses (ops/cuda/loss.h): cross-entropy fused with log-softmax, forward and
// backward, and NLL. The elementwise losses are in loss_pointwise.cu.
//
// The logits are (N, C, S) and position i = (n, s) owns the C values x[n, :, s], as on the CPU
// (ops/cpu/loss.cpp). Plain (N, C) logits (S = 1) give contiguous rows: a warp per position, the
// lanes striding over the classes (the top-1000 ImageNet head: ~32 values per lane) and reducing
// with shuffles. With S > 1 (per-pixel losses) a thread per position, its classes S apart, so the
// threads of a warp read neighbouring positions together. Per position the forward computes the
// maximum, lse = max + log(sum exp(x - max)) and the loss with label smoothing and class weights,
//   loss = (1 - eps) w_t (lse - x_t) + eps / C sum_c w_c (lse - x_c),
// and saves lse, so the backward is one sweep:
//   d loss / d x_c = p_c ((1 - eps) w_t + eps/C W) - eps/C w_c - [c == t] (1 - eps) w_t,   W = sum w.
// Ignored positions get loss 0 and a zero gradient. float32/bfloat16 accumulate in float32.
#include "ops/cuda/loss.h"

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;

struct ClassLayout {
    int64_t batch, classes, spatial;  // x: (N, C, S)
    __host__ __device__ int64_t positions() const { return batch * spatial; }
    // Element offset of class 0 of position i.
    __device__ int64_t base(int64_t i) const { return (i / spatial) * classes * spatial + i % spatial; }
};

ClassLayout class_layout(const Tensor& x) {
    ClassLayout l{x.shape()[0], x.shape()[1], 1};
    for (int64_t d = 2; d < x.dim(); ++d) l.spatial *= x.shape()[size_t(d)];
    return l;
}

// A team per position: a warp (S == 1) or a single thread (S > 1).
template <bool kWarp>
__device__ __forceinline__ void position_of(int64_t& i, int& lane, int& team) {
    if constexpr (kWarp) {
        i = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
        lane = threadIdx.x % 32;
        team = 32;
    } else {
        i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
        lane = 0;
        team = 1;
    }
}
template <bool kWarp, class A>
__device__ __forceinline__ A team_sum(A v) {
    if constexpr (kWarp) return warp_sum(v); else return v;
}
template <bool kWarp, class A>
__device__ __forceinline__ A team_max(A v) {
    if constexpr (kWarp) return warp_max(v); else return v;
}

template <class T, bool kWarp>
__global__ void cross_entropy_kernel(T* __restrict__ loss, acc_type<T>* __restrict__ lse, const T* __restrict__ x,
                                     const int64_t* __restrict__ target, const T* __restrict__ w, ClassLayout l,
                                     acc_type<T> smoothing, int64_t ignore_index) {
    using A = acc_type<T>;
    int64_t i;
    int lane, team;
    position_of<kWarp>(i, lane, team);
    if (i >= l.positions()) return;
    const int64_t t = target[i];
    if (t == ignore_index) {
        if (lane == 0) {
            loss[i] = device_convert<T>(0.0f);
            lse[i] = A(0);
        }
        return;
    }
    const int64_t stride = l.spatial;
    const T* row = x + l.base(i);
    A m = neg_infinity<A>();
    for (int64_t c = lane; c < l.classes; c += team) {
        const A v = to_compute(row[c * stride]);
        m = v > m ? v : m;
    }
    m = team_max<kWarp>(m);
    A s = 0;
    for (int64_t c = lane; c < l.classes; c += team) s += exp_acc(A(to_compute(row[c * stride])) - m);
    const A lse_i = m + log_acc(team_sum<kWarp>(s));
    const A w_t = w ? A(to_compute(w[t])) : A(1);
    A value = (A(1) - smoothing) * w_t * (lse_i - A(to_compute(row[t * stride])));
    if (smoothing > A(0)) {
        A smooth = 0;
        for (int64_t c = lane; c < l.classes; c += team) {
            smooth += (w ? A(to_compute(w[c])) : A(1)) * (lse_i - A(to_compute(row[c * stride])));
        }
        value += smoothing / A(l.classes) * team_sum<kWarp>(smooth);
    }
    if (lane == 0) {
        loss[i] = device_convert<T>(value);
        lse[i] = lse_i;
    }
}

template <class T, bool kWarp>
__global__ void cross_entropy_backward_kernel(T* __restrict__ gx, const T* __restrict__ g, const T* __restrict__ x,
                                              const acc_type<T>* __restrict__ lse, const int64_t* __restrict__ target,
                                              const T* __restrict__ w, ClassLayout l, acc_type<T> smoothing,
                                              int64_t ignore_index) {
    using A = acc_type<T>;
    int64_t i;
    int lane, team;
    position_of<kWarp>(i, lane, team);
    if (i >= l.positions()) return;
    const int64_t stride = l.spatial, base = l.base(i);
    const int64_t t = target[i];
    if (t == ignore_index) {
        for (int64_t c = lane; c < l.classes; c += team) gx[base + c * stride] = device_convert<T>(0.0f);
        return;
    }
    A total_w = A(l.classes);
    if (w) {
        A sw = 0;
        for (int64_t c = lane; c < l.classes; c += team) sw += A(to_compute(w[c]));
        total_w = team_sum<kWarp>(sw);
    }
    const A gi = to_compute(g[i]), lse_i = lse[i];
    const A w_t = w ? A(to_compute(w[t])) : A(1);
    const A eps_c = smoothing / A(l.classes);
    const A a = gi * ((A(1) - smoothing) * w_t + eps_c * total_w);
    const A b = gi * eps_c;
    const A target_term = gi * (A(1) - smoothing) * w_t;
    for (int64_t c = lane; c < l.classes; c += team) {
        const A p = exp_acc(A(to_compute(x[base + c * stride])) - lse_i);
        A v = p * a - (w ? b * A(to_compute(w[c])) : b);
        if (c == t) v -= target_term;
        gx[base + c * stride] = device_convert<T>(v);
    }
}

template <class T>
__global__ void nll_kernel(T* __restrict__ loss, const T* __restrict__ x, const int64_t* __restrict__ target,
                           const T* __restrict__ w, ClassLayout l, int64_t ignore_index) {
    using A = acc_type<T>;
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= l.positions()) return;
    const int64_t t = target[i];
    if (t == ignore_index) {
        loss[i] = device_convert<T>(0.0f);
        return;
    }
    const A w_t = w ? A(to_compute(w[t])) : A(1);
    loss[i] = device_convert<T>(-w_t * A(to_compute(x[l.base(i) + t * l.spatial])));
}

// One thread per element of grad_x: -w[t] g at the target class, 0 elsewhere.
template <class T>
__global__ void nll_backward_kernel(T* __restrict__ gx, const T* __restrict__ g, const int64_t* __restrict__ target,
                                    const T* __restrict__ w, ClassLayout l, int64_t ignore_index) {
    using A = acc_type<T>;
    const int64_t n = l.positions() * l.classes;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t s = e % l.spatial, c = (e / l.spatial) % l.classes, b = e / (l.spatial * l.classes);
        const int64_t i = b * l.spatial + s;
        const int64_t t = target[i];
        A v = 0;
        if (t != ignore_index && t == c) v = -(w ? A(to_compute(w[t])) : A(1)) * A(to_compute(g[i]));
        gx[e] = device_convert<T>(v);
    }
}

void check_lse(const Tensor& lse, const Tensor& x) {
    WSOL_CHECK(lse.dtype() == stats_dtype_of(x.dtype()), "cross_entropy on CUDA: lse must be ",
               dtype_name(stats_dtype_of(x.dtype())), " for ", dtype_name(x.dtype()), " logits, got ",
               dtype_name(lse.dtype()));
}

}  // namespace

void cross_entropy(const Tensor& loss, const Tensor& lse, const Tensor& x, const Tensor& target,
                   const Tensor& class_weight, double smoothing, int64_t ignore_index) {
    dispatch_floating_device(x.dtype(), "cross_entropy", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        check_lse(lse, x);
        const ClassLayout l = class_layout(x);
        if (l.positions() == 0) return;
        cudaStream_t stream = prepare(x);
        if (l.spatial == 1) {
            cross_entropy_kernel<T, true><<<blocks_for(l.positions(), kThreads / 32), kThreads, 0, stream>>>(
                ptr<T>(loss), ptr<A>(lse), ptr<T>(x), ptr<int64_t>(target), ptr<T>(class_weight), l, A(smoothing),
                ignore_index);
        } else {
            cross_entropy_kernel<T, false><<<blocks_for(l.positions(), kThreads), kThreads, 0, stream>>>(
                ptr<T>(loss), ptr<A>(lse), ptr<T>(x), ptr<int64_t>(target), ptr<T>(class_weight), l, A(smoothing),
                ignore_index);
        }
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void cross_entropy_backward(const Tensor& grad_x, const Tensor& grad_loss, const Tensor& x, const Tensor& lse,
                            const Tensor& target, const Tensor& class_weight, double smoothing, int64_t ignore_index) {
    dispatch_floating_device(x.dtype(), "cross_entropy backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        check_lse(lse, x);
        const ClassLayout l = class_layout(x);
        if (l.positions() == 0 || l.classes == 0) return;
        cudaStream_t stream = prepare(x);
        if (l.spatial == 1) {
            cross_entropy_backward_kernel<T, true><<<blocks_for(l.positions(), kThreads / 32), kThreads, 0, stream>>>(
                ptr<T>(grad_x), ptr<T>(grad_loss), ptr<T>(x), ptr<A>(lse), ptr<int64_t>(target), ptr<T>(class_weight), l,
                A(smoothing), ignore_index);
        } else {
            cross_entropy_backward_kernel<T, false><<<blocks_for(l.positions(), kThreads), kThreads, 0, stream>>>(
                ptr<T>(grad_x), ptr<T>(grad_loss), ptr<T>(x), ptr<A>(lse), ptr<int64_t>(target), ptr<T>(class_weight), l,
                A(smoothing), ignore_index);
        }
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, const Tensor& class_weight,
              int64_t ignore_index) {
    dispatch_floating_device(log_probs.dtype(), "nll_loss", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(log_probs);
        if (l.positions() == 0) return;
        cudaStream_t stream = prepare(log_probs);
        nll_kernel<T><<<blocks_for(l.positions(), kThreads), kThreads, 0, stream>>>(
            ptr<T>(loss), ptr<T>(log_probs), ptr<int64_t>(target), ptr<T>(class_weight), l, ignore_index);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       const Tensor& class_weight, int64_t ignore_index) {
    dispatch_floating_device(grad_log_probs.dtype(), "nll_loss backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const ClassLayout l = class_layout(grad_log_probs);
        if (grad_log_probs.numel() == 0) return;
        cudaStream_t stream = prepare(grad_log_probs);
        nll_backward_kernel<T><<<grid_size(grad_log_probs.numel(), kThreads, grad_log_probs.device().index), kThreads, 0,
                                 stream>>>(ptr<T>(grad_log_probs), ptr<T>(grad_loss), ptr<int64_t>(target),
                                           ptr<T>(class_weight), l, ignore_index);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
