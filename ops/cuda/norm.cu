// CUDA LayerNorm, forward and backward (ops/cuda/norm.h); BatchNorm is in batch_norm.cu.
//
// Rows of N features: a warp per row when N <= 1024 (ViT: N = 384), a block per row above. Each
// team makes the CPU kernel's passes over its row (the row stays in L1 after the first): the mean
// as shift + sum(x - shift) / N with shift = x[0] (exact for rows with a large common offset), the
// centred variance, then y. The backward pass is the same row layout for grad_x, and for the
// weight and bias gradients (column sums over all rows) a two-stage reduction: blocks of 32
// columns x one fixed chunk of rows write partial sums, a second kernel adds the chunks in order.
// No atomics: the gradients are reproducible bit for bit. float32/bfloat16 accumulate in float32,
// float64 in float64.
#include "ops/cuda/norm.h"

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kWarpRowsThreads = 256;  // 8 rows per block
constexpr int kBlockRowThreads = 512;
constexpr int64_t kWarpRowMax = 1024;
constexpr int kParamRowsY = 8;  // threads along the rows in the parameter-gradient tiles

template <bool kBlock, class A>
__device__ __forceinline__ A team_sum(A v, A* scratch) {
    if constexpr (kBlock) return block_sum(v, scratch); else return warp_sum(v);
}

template <bool kBlock>
__device__ __forceinline__ void team_position(int64_t& row, int& lane, int& team) {
    if constexpr (kBlock) {
        row = blockIdx.x;
        lane = threadIdx.x;
        team = blockDim.x;
    } else {
        row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
        lane = threadIdx.x % 32;
        team = 32;
    }
}

// y = (x - mean) * rstd * w + b for one row per team; mean and rstd saved in A (float or double).
// With a residual (add_layer_norm), the row normalised is h = x + residual, rounded to T as the
// add kernel rounds it, and h is written to `sum` on the way: each thread writes the elements it
// later reads back, so the team needs no synchronisation (the shift, h[0], each thread computes).
template <class T, bool kBlock>
__global__ void layer_norm_kernel(T* __restrict__ y, acc_type<T>* __restrict__ mean, acc_type<T>* __restrict__ rstd,
                                  const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                                  int64_t rows, int64_t n, acc_type<T> eps, const T* __restrict__ residual = nullptr,
                                  T* __restrict__ sum = nullptr) {
    using A = acc_type<T>;
    __shared__ A scratch[32];
    int64_t row;
    int lane, team;
    team_position<kBlock>(row, lane, team);
    if (row >= rows) return;
    const T* xr = x + row * n;
    T* yr = y + row * n;
    A shift;
    if (residual != nullptr) {
        const T* rr = residual + row * n;
        T* hr = sum + row * n;
        for (int64_t i = lane; i < n; i += team) hr[i] = device_convert<T>(to_compute(xr[i]) + to_compute(rr[i]));
        shift = A(to_compute(device_convert<T>(to_compute(xr[0]) + to_compute(rr[0]))));
        xr = hr;
    } else {
        shift = to_compute(xr[0]);
    }
    A s = 0;
    for (int64_t i = lane; i < n; i += team) s += A(to_compute(xr[i])) - shift;
    const A mu = shift + team_sum<kBlock>(s, scratch) / A(n);
    A ss = 0;
    for (int64_t i = lane; i < n; i += team) {
        const A d = A(to_compute(xr[i])) - mu;
        ss += d * d;
    }
    const A var = team_sum<kBlock>(ss, scratch) / A(n);
    const A rs = A(1) / sqrt_acc(var + eps);
    if (lane == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
    for (int64_t i = lane; i < n; i += team) {
        A v = (A(to_compute(xr[i])) - mu) * rs;
        if (w) v *= A(to_compute(w[i]));
        if (b) v += A(to_compute(b[i]));
        yr[i] = device_convert<T>(v);
    }
}

// grad_x of one row per team: rstd (g w - mean(g w) - xhat mean(g w xhat)).
template <class T, bool kBlock>
__global__ void layer_norm_grad_input_kernel(T* __restrict__ gx, const T* __restrict__ g, const T* __restrict__ x,
                                             const acc_type<T>* __restrict__ mean, const acc_type<T>* __restrict__ rstd,
                                             const T* __restrict__ w, int64_t rows, int64_t n) {
    using A = acc_type<T>;
    __shared__ A scratch[32];
    int64_t row;
    int lane, team;
    team_position<kBlock>(row, lane, team);
    if (row >= rows) return;
    const int64_t base = row * n;
    const A m = mean[row], s = rstd[row];
    A sum_gw = 0, sum_gw_xhat = 0;
    for (int64_t i = lane; i < n; i += team) {
        A gw = to_compute(g[base + i]);
        if (w) gw *= A(to_compute(w[i]));
        sum_gw += gw;
        sum_gw_xhat += gw * ((A(to_compute(x[base + i])) - m) * s);
    }
    const A mean_gw = team_sum<kBlock>(sum_gw, scratch) / A(n);
    const A mean_gw_xhat = team_sum<kBlock>(sum_gw_xhat, scratch) / A(n);
    for (int64_t i = lane; i < n; i += team) {
        A gw = to_compute(g[base + i]);
        if (w) gw *= A(to_compute(w[i]));
        const A xhat = (A(to_compute(x[base + i])) - m) * s;
        gx[base + i] = device_convert<T>(s * (gw - mean_gw - xhat * mean_gw_xhat));
    }
}

// Stage 1 of the weight/bias gradients: block (blockIdx.x, chunk) sums g * xhat and g over the
// chunk's rows for 32 columns; threads along y split the rows, then add up in a fixed order.
template <class T>
__global__ void layer_norm_param_partial_kernel(acc_type<T>* __restrict__ part_w, acc_type<T>* __restrict__ part_b,
                                                const T* __restrict__ g, const T* __restrict__ x,
                                                const acc_type<T>* __restrict__ mean,
                                                const acc_type<T>* __restrict__ rstd, int64_t rows, int64_t n,
                                                int64_t rows_per_chunk) {
    using A = acc_type<T>;
    const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
    const int64_t chunk = blockIdx.y;
    const int64_t r0 = chunk * rows_per_chunk, r1 = ::min(rows, r0 + rows_per_chunk);
    A aw = 0, ab = 0;
    if (c < n) {
        for (int64_t r = r0 + threadIdx.y; r < r1; r += kParamRowsY) {
            const A gv = to_compute(g[r * n + c]);
            aw += gv * ((A(to_compute(x[r * n + c])) - mean[r]) * rstd[r]);
            ab += gv;
        }
    }
    __shared__ A tile_w[kParamRowsY][33], tile_b[kParamRowsY][33];
    tile_w[threadIdx.y][threadIdx.x] = aw;
    tile_b[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y != 0 || c >= n) return;
    for (int k = 1; k < kParamRowsY; ++k) {
        aw += tile_w[k][threadIdx.x];
        ab += tile_b[k][threadIdx.x];
    }
    part_w[chunk * n + c] = aw;
    part_b[chunk * n + c] = ab;
}

// Stage 2: the chunks of each column added in chunk order.
template <class T>
__global__ void layer_norm_param_finish_kernel(T* __restrict__ gw, T* __restrict__ gb,
                                               const acc_type<T>* __restrict__ part_w,
                                               const acc_type<T>* __restrict__ part_b, int64_t n, int64_t chunks) {
    using A = acc_type<T>;
    for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < n; c += int64_t(gridDim.x) * blockDim.x) {
        A sw = 0, sb = 0;
        for (int64_t k = 0; k < chunks; ++k) {
            sw += part_w[k * n + c];
            sb += part_b[k * n + c];
        }
        if (gw) gw[c] = device_convert<T>(sw);
        if (gb) gb[c] = device_convert<T>(sb);
    }
}

void check_stats(const char* op, const Tensor& stats, const Tensor& x) {
    WSOL_CHECK(stats.dtype() == stats_dtype_of(x.dtype()), op, " on CUDA: statistics must be ",
               dtype_name(stats_dtype_of(x.dtype())), " for a ", dtype_name(x.dtype()), " input, got ",
               dtype_name(stats.dtype()));
}

}  // namespace

namespace {

// layer_norm and add_layer_norm (residual and sum defined).
void launch_layer_norm(const char* op, const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                       const Tensor& weight, const Tensor& bias, double eps, const Tensor& residual, const Tensor& sum) {
    dispatch_floating_device(x.dtype(), op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        check_stats(op, mean, x);
        check_stats(op, rstd, x);
        const int64_t n = x.numel() == 0 ? 0 : x.shape().back();
        const int64_t rows = n == 0 ? 0 : x.numel() / n;
        if (rows == 0) return;
        cudaStream_t stream = prepare(x);
        const T* r = residual.defined() ? ptr<T>(residual) : nullptr;
        T* h = sum.defined() ? ptr<T>(sum) : nullptr;
        if (n <= kWarpRowMax) {
            layer_norm_kernel<T, false><<<blocks_for(rows, kWarpRowsThreads / 32), kWarpRowsThreads, 0, stream>>>(
                ptr<T>(y), ptr<A>(mean), ptr<A>(rstd), ptr<T>(x), ptr<T>(weight), ptr<T>(bias), rows, n, A(eps), r, h);
        } else {
            WSOL_CHECK(rows <= INT32_MAX, op, " on CUDA: too many rows (", rows, ")");
            layer_norm_kernel<T, true><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(
                ptr<T>(y), ptr<A>(mean), ptr<A>(rstd), ptr<T>(x), ptr<T>(weight), ptr<T>(bias), rows, n, A(eps), r, h);
        }
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace

void layer_norm(const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x, const Tensor& weight,
                const Tensor& bias, double eps) {
    launch_layer_norm("layer_norm", y, mean, rstd, x, weight, bias, eps, Tensor(), Tensor());
}

void add_layer_norm(const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                    const Tensor& residual, const Tensor& weight, const Tensor& bias, double eps) {
    WSOL_CHECK(residual.defined() && sum.defined() && residual.dtype() == x.dtype() && sum.dtype() == x.dtype() &&
                   residual.numel() == x.numel() && sum.numel() == x.numel(),
               "add_layer_norm on CUDA: residual and sum must match the input");
    launch_layer_norm("add_layer_norm", y, mean, rstd, x, weight, bias, eps, residual, sum);
}

void layer_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight) {
    dispatch_floating_device(x.dtype(), "layer_norm backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        check_stats("layer_norm backward", mean, x);
        const int64_t n = x.numel() == 0 ? 0 : x.shape().back();
        const int64_t rows = n == 0 ? 0 : x.numel() / n;
        if (n == 0) return;
        cudaStream_t stream = prepare(x);
        if (grad_x.defined() && rows > 0) {
            if (n <= kWarpRowMax) {
                layer_norm_grad_input_kernel<T, false>
                    <<<blocks_for(rows, kWarpRowsThreads / 32), kWarpRowsThreads, 0, stream>>>(
                        ptr<T>(grad_x), ptr<T>(grad_y), ptr<T>(x), ptr<A>(mean), ptr<A>(rstd), ptr<T>(weight), rows, n);
            } else {
                WSOL_CHECK(rows <= INT32_MAX, "layer_norm backward on CUDA: too many rows (", rows, ")");
                layer_norm_grad_input_kernel<T, true><<<unsigned(rows), kBlockRowThreads, 0, stream>>>(
                    ptr<T>(grad_x), ptr<T>(grad_y), ptr<T>(x), ptr<A>(mean), ptr<A>(rstd), ptr<T>(weight), rows, n);
            }
            WSOL_CUDA_CHECK_LAUNCH();
        }
        if (!grad_weight.defined() && !grad_bias.defined()) return;
        // A fixed split of the rows (a function of the row count only, not of the GPU).
        const int64_t chunks = std::clamp<int64_t>((rows + 63) / 64, 1, 128);
        const int64_t rows_per_chunk = std::max<int64_t>(1, (rows + chunks - 1) / chunks);
        const DType acc = stats_dtype_of(x.dtype());
        Tensor part_w = Tensor::empty({chunks, n}, acc, x.device()), part_b = Tensor::empty({chunks, n}, acc, x.device());
        const dim3 grid(blocks_for(n, 32), unsigned(chunks));
        layer_norm_param_partial_kernel<T><<<grid, dim3(32, kParamRowsY), 0, stream>>>(
            ptr<A>(part_w), ptr<A>(part_b), ptr<T>(grad_y), ptr<T>(x), ptr<A>(mean), ptr<A>(rstd), rows, n,
            rows_per_chunk);
        WSOL_CUDA_CHECK_LAUNCH();
        layer_norm_param_finish_kernel<T><<<blocks_for(n, 256), 256, 0, stream>>>(
            ptr<T>(grad_weight), ptr<T>(grad_bias), ptr<A>(part_w), ptr<A>(part_b), n, chunks);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
