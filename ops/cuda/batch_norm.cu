// CUDA BatchNorm kernels (ops/cuda/norm.h) on x: (B, C, S), the layout of ops/norm.cpp.
//
// The statistics of channel c run over B planes of S contiguous elements. They are computed with
// the CPU kernel's shifted single pass (sums of x - K and (x - K)^2 in float64, K the channel's
// first element) as a two-stage reduction: blocks (c, chunk) reduce a fixed chunk of the channel's
// B*S elements and write their partial sums, a second kernel adds the chunks in order. The
// backward pass sums g and g * xhat the same way, then applies the input gradient elementwise.
// Everything is deterministic (no atomics). Own kernels rather than cuDNN's batch norm, so that
// the op keeps exactly the CPU's contract (separate statistics, apply and backward calls, the
// running statistics updated by the op itself).
#include "ops/cuda/norm.h"

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunkElements = 16384;  // per block of a channel's reduction
constexpr int64_t kMaxChunks = 64;

struct Planes {
    int64_t batch, channels, spatial;
    __host__ __device__ int64_t count() const { return batch * spatial; }
};

Planes planes_of(const Tensor& x) {
    Planes p{x.shape()[0], x.shape()[1], 1};
    for (int64_t d = 2; d < x.dim(); ++d) p.spatial *= x.shape()[size_t(d)];
    return p;
}

// The split of one channel's elements into chunks (a function of the sizes only).
int64_t chunks_for(const Planes& p) {
    return std::clamp<int64_t>((p.count() + kChunkElements - 1) / kChunkElements, 1, kMaxChunks);
}

// Element e of channel c, e in [0, B*S): plane b = e / S, position s = e % S.
__device__ __forceinline__ int64_t channel_element(int64_t c, int64_t e, int64_t channels, int64_t spatial) {
    return ((e / spatial) * channels + c) * spatial + e % spatial;
}

// Stage 1 of the statistics: partial[c][chunk] = (sum(x - K), sum((x - K)^2)) over the chunk.
template <class T>
__global__ void stats_partial_kernel(double* __restrict__ partial, const T* __restrict__ x, Planes p, int64_t chunks) {
    __shared__ double scratch[32];
    const int64_t c = blockIdx.x, chunk = blockIdx.y;
    const int64_t count = p.count(), per = (count + chunks - 1) / chunks;
    const int64_t e0 = chunk * per, e1 = ::min(count, e0 + per);
    const double shift = double(to_compute(x[c * p.spatial]));
    double s = 0, ss = 0;
    for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
        const double d = double(to_compute(x[channel_element(c, e, p.channels, p.spatial)])) - shift;
        s += d;
        ss += d * d;
    }
    s = block_sum(s, scratch);
    ss = block_sum(ss, scratch);
    if (threadIdx.x == 0) {
        partial[(c * chunks + chunk) * 2] = s;
        partial[(c * chunks + chunk) * 2 + 1] = ss;
    }
}

template <class T, class S>
__global__ void stats_finish_kernel(S* __restrict__ mean, S* __restrict__ var, const double* __restrict__ partial,
                                    const T* __restrict__ x, Planes p, int64_t chunks) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= p.channels) return;
    double s = 0, ss = 0;
    for (int64_t k = 0; k < chunks; ++k) {
        s += partial[(c * chunks + k) * 2];
        ss += partial[(c * chunks + k) * 2 + 1];
    }
    const double count = double(p.count());
    const double shift = double(to_compute(x[c * p.spatial]));
    const double m = s / count;
    mean[c] = S(shift + m);
    var[c] = S(::fmax(ss / count - m * m, 0.0));
}

template <class T, class S>
__global__ void apply_kernel(T* __restrict__ y, const T* __restrict__ x, const S* __restrict__ mean,
                             const S* __restrict__ rstd, const T* __restrict__ w, const T* __restrict__ b, Planes p) {
    using A = acc_type<T>;
    const int64_t n = p.batch * p.channels * p.spatial;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = (i / p.spatial) % p.channels;
        const A scale = w ? A(rstd[c]) * A(to_compute(w[c])) : A(rstd[c]);
        const A shift = b ? A(to_compute(b[c])) : A(0);
        y[i] = device_convert<T>((A(to_compute(x[i])) - A(mean[c])) * scale + shift);
    }
}

// Stage 1 of the backward sums: partial[c][chunk] = (sum(g), sum(g * xhat)).
template <class T, class S>
__global__ void grad_partial_kernel(double* __restrict__ partial, const T* __restrict__ g, const T* __restrict__ x,
                                    const S* __restrict__ mean, const S* __restrict__ rstd, Planes p, int64_t chunks) {
    using A = acc_type<T>;
    __shared__ double scratch[32];
    const int64_t c = blockIdx.x, chunk = blockIdx.y;
    const int64_t count = p.count(), per = (count + chunks - 1) / chunks;
    const int64_t e0 = chunk * per, e1 = ::min(count, e0 + per);
    const A m = A(mean[c]), s_c = A(rstd[c]);
    double sg = 0, sgx = 0;
    for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
        const int64_t at = channel_element(c, e, p.channels, p.spatial);
        const double gv = double(to_compute(g[at]));
        sg += gv;
        sgx += gv * double((A(to_compute(x[at])) - m) * s_c);
    }
    sg = block_sum(sg, scratch);
    sgx = block_sum(sgx, scratch);
    if (threadIdx.x == 0) {
        partial[(c * chunks + chunk) * 2] = sg;
        partial[(c * chunks + chunk) * 2 + 1] = sgx;
    }
}

// Stage 2: per channel sums in chunk order; writes grad_weight / grad_bias and the two means the
// input gradient needs (sums[c] = (mean(g), mean(g xhat)) in A).
template <class T>
__global__ void grad_finish_kernel(T* __restrict__ gw, T* __restrict__ gb, acc_type<T>* __restrict__ means,
                                   const double* __restrict__ partial, Planes p, int64_t chunks) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= p.channels) return;
    double sg = 0, sgx = 0;
    for (int64_t k = 0; k < chunks; ++k) {
        sg += partial[(c * chunks + k) * 2];
        sgx += partial[(c * chunks + k) * 2 + 1];
    }
    if (gw) gw[c] = device_convert<T>(sgx);
    if (gb) gb[c] = device_convert<T>(sg);
    const double count = double(p.count());
    means[c * 2] = acc_type<T>(sg / count);
    means[c * 2 + 1] = acc_type<T>(sgx / count);
}

// grad_x = w rstd (g - mean(g) - xhat mean(g xhat)), the means absent (zero) in eval mode.
template <class T, class S>
__global__ void grad_input_kernel(T* __restrict__ gx, const T* __restrict__ g, const T* __restrict__ x,
                                  const S* __restrict__ mean, const S* __restrict__ rstd, const T* __restrict__ w,
                                  const acc_type<T>* __restrict__ means, Planes p) {
    using A = acc_type<T>;
    const int64_t n = p.batch * p.channels * p.spatial;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = (i / p.spatial) % p.channels;
        const A s_c = A(rstd[c]);
        const A scale = w ? s_c * A(to_compute(w[c])) : s_c;
        const A mean_g = means ? means[c * 2] : A(0), mean_g_xhat = means ? means[c * 2 + 1] : A(0);
        const A xhat = (A(to_compute(x[i])) - A(mean[c])) * s_c;
        gx[i] = device_convert<T>(scale * (A(to_compute(g[i])) - mean_g - xhat * mean_g_xhat));
    }
}

void check_stats(const char* op, const Tensor& stats, const Tensor& x) {
    WSOL_CHECK(stats.dtype() == stats_dtype_of(x.dtype()), op, " on CUDA: statistics must be ",
               dtype_name(stats_dtype_of(x.dtype())), " for a ", dtype_name(x.dtype()), " input, got ",
               dtype_name(stats.dtype()));
}

}  // namespace

void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x) {
    dispatch_floating_device(x.dtype(), "batch_norm", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = acc_type<T>;
        check_stats("batch_norm", mean, x);
        check_stats("batch_norm", var, x);
        const Planes p = planes_of(x);
        if (p.channels == 0 || p.count() == 0) return;
        WSOL_CHECK(p.channels <= INT32_MAX, "batch_norm on CUDA: too many channels");
        const int64_t chunks = chunks_for(p);
        Tensor partial = Tensor::empty({p.channels, chunks, 2}, kFloat64, x.device());
        cudaStream_t stream = prepare(x);
        stats_partial_kernel<T><<<dim3(unsigned(p.channels), unsigned(chunks)), kThreads, 0, stream>>>(
            ptr<double>(partial), ptr<T>(x), p, chunks);
        WSOL_CUDA_CHECK_LAUNCH();
        stats_finish_kernel<T, S><<<blocks_for(p.channels, 128), 128, 0, stream>>>(ptr<S>(mean), ptr<S>(var),
                                                                                  ptr<double>(partial), ptr<T>(x), p, chunks);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void batch_norm_apply(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                      const Tensor& bias) {
    dispatch_floating_device(x.dtype(), "batch_norm", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = acc_type<T>;
        check_stats("batch_norm", mean, x);
        check_stats("batch_norm", rstd, x);
        const Planes p = planes_of(x);
        if (x.numel() == 0) return;
        cudaStream_t stream = prepare(x);
        apply_kernel<T, S><<<grid_size(x.numel(), kThreads, x.device().index), kThreads, 0, stream>>>(
            ptr<T>(y), ptr<T>(x), ptr<S>(mean), ptr<S>(rstd), ptr<T>(weight), ptr<T>(bias), p);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, bool training) {
    dispatch_floating_device(x.dtype(), "batch_norm backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = acc_type<T>;
        using A = acc_type<T>;
        check_stats("batch_norm backward", mean, x);
        check_stats("batch_norm backward", rstd, x);
        const Planes p = planes_of(x);
        if (p.channels == 0) return;
        cudaStream_t stream = prepare(x);
        Tensor means;  // (C, 2): mean(g), mean(g xhat) when the sums are needed
        if (grad_weight.defined() || grad_bias.defined() || (training && grad_x.defined())) {
            const int64_t chunks = chunks_for(p);
            Tensor partial = Tensor::empty({p.channels, chunks, 2}, kFloat64, x.device());
            means = Tensor::empty({p.channels, 2}, stats_dtype_of(x.dtype()), x.device());
            grad_partial_kernel<T, S><<<dim3(unsigned(p.channels), unsigned(chunks)), kThreads, 0, stream>>>(
                ptr<double>(partial), ptr<T>(grad_y), ptr<T>(x), ptr<S>(mean), ptr<S>(rstd), p, chunks);
            WSOL_CUDA_CHECK_LAUNCH();
            grad_finish_kernel<T><<<blocks_for(p.channels, 128), 128, 0, stream>>>(
                ptr<T>(grad_weight), ptr<T>(grad_bias), ptr<A>(means), ptr<double>(partial), p, chunks);
            WSOL_CUDA_CHECK_LAUNCH();
        }
        if (!grad_x.defined() || x.numel() == 0) return;
        grad_input_kernel<T, S><<<grid_size(x.numel(), kThreads, x.device().index), kThreads, 0, stream>>>(
            ptr<T>(grad_x), ptr<T>(grad_y), ptr<T>(x), ptr<S>(mean), ptr<S>(rstd), ptr<T>(weight),
            training ? ptr<A>(means) : nullptr, p);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
