// CUDA pooling kernels (ops/cuda/pool.h): max, average and adaptive average pooling, forward and
// backward, one thread per output (forward) or per input element (backward).
//
// Window bounds are the CPU kernels' (ops/cpu/pool.cpp, themselves PyTorch's), so ties, NaN and
// ceil_mode edges agree exactly. The backward passes gather: input element (h, w) finds the
// output rows whose windows contain it from the window arithmetic (for a window start
// oh * stride - pad and taps spaced `dilation`, the rows oh with oh * stride = h + pad - i * dilation),
// visits them in increasing (oh, ow) order - the order in which the CPU's scatter adds into that
// element - and sums. No atomics, so the result is reproducible and, in float32/float64, the CPU's.
#include "ops/cuda/pool.h"

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// ---- max pooling ------------------------------------------------------------------------------------

template <class T>
__global__ void max_pool_kernel(T* __restrict__ y, int64_t* __restrict__ indices, const T* __restrict__ x,
                                Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.out_h * g.out_w;
    for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ow = o % g.out_w, oh = (o / g.out_w) % g.out_h, p = o / (g.out_w * g.out_h);
        const T* plane = x + p * g.in_h * g.in_w;
        int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
        const int64_t h1 = ::min(h0 + (g.kernel_h - 1) * g.dilation_h + 1, g.in_h);
        const int64_t w1 = ::min(w0 + (g.kernel_w - 1) * g.dilation_w + 1, g.in_w);
        while (h0 < 0) h0 += g.dilation_h;  // the taps in the padding are -inf: never chosen
        while (w0 < 0) w0 += g.dilation_w;
        int64_t best_index = h0 * g.in_w + w0;
        A best = neg_infinity<A>();
        for (int64_t h = h0; h < h1; h += g.dilation_h) {
            for (int64_t w = w0; w < w1; w += g.dilation_w) {
                const A v = to_compute(plane[h * g.in_w + w]);
                if (v > best || v != v) {  // strictly greater: the first maximum wins; NaN wins
                    best = v;
                    best_index = h * g.in_w + w;
                }
            }
        }
        y[o] = device_convert<T>(best);
        indices[o] = best_index;
    }
}

template <class T>
__global__ void max_pool_grad_kernel(T* __restrict__ gx, const T* __restrict__ gy, const int64_t* __restrict__ indices,
                                     Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.in_h * g.in_w;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, p = e / (g.in_w * g.in_h);
        const int64_t here = h * g.in_w + w;
        const int64_t out_base = p * g.out_h * g.out_w;
        A acc = 0;
        for (int64_t i = g.kernel_h - 1; i >= 0; --i) {  // decreasing tap: increasing output row
            const int64_t t = h + g.pad_h - i * g.dilation_h;
            if (t < 0 || t % g.stride_h != 0 || t / g.stride_h >= g.out_h) continue;
            const int64_t oh = t / g.stride_h;
            for (int64_t j = g.kernel_w - 1; j >= 0; --j) {
                const int64_t u = w + g.pad_w - j * g.dilation_w;
                if (u < 0 || u % g.stride_w != 0 || u / g.stride_w >= g.out_w) continue;
                const int64_t o = out_base + oh * g.out_w + u / g.stride_w;
                if (indices[o] == here) acc += A(to_compute(gy[o]));
            }
        }
        gx[e] = device_convert<T>(acc);
    }
}

// ---- average pooling --------------------------------------------------------------------------------

struct AvgWindow {
    int64_t h0, h1, w0, w1, divisor;
};

// The input rows/columns [begin, end) a window covers and its divisor (ops/cpu/pool.cpp's avg_window).
__device__ __forceinline__ AvgWindow avg_window(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
    int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
    int64_t h1 = ::min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = ::min(w0 + g.kernel_w, g.in_w + g.pad_w);
    const int64_t padded_area = (h1 - h0) * (w1 - w0);  // clipped to the padding, not to the input
    h0 = ::max(h0, int64_t(0));
    w0 = ::max(w0, int64_t(0));
    h1 = ::min(h1, g.in_h);
    w1 = ::min(w1, g.in_w);
    return {h0, h1, w0, w1, g.count_include_pad ? padded_area : (h1 - h0) * (w1 - w0)};
}

template <class T>
__global__ void avg_pool_kernel(T* __restrict__ y, const T* __restrict__ x, Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.out_h * g.out_w;
    for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ow = o % g.out_w, oh = (o / g.out_w) % g.out_h, p = o / (g.out_w * g.out_h);
        const T* plane = x + p * g.in_h * g.in_w;
        const AvgWindow win = avg_window(g, oh, ow);
        A total_value = 0;
        for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) total_value += A(to_compute(plane[h * g.in_w + w]));
        }
        const bool empty = win.h0 >= win.h1 || win.w0 >= win.w1;
        y[o] = device_convert<T>(empty ? A(0) : total_value / A(win.divisor));
    }
}

template <class T>
__global__ void avg_pool_grad_kernel(T* __restrict__ gx, const T* __restrict__ gy, Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.in_h * g.in_w;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, p = e / (g.in_w * g.in_h);
        const int64_t out_base = p * g.out_h * g.out_w;
        // Windows starting at oh * stride - pad with kernel taps: oh in (h + pad - kernel, h + pad] / stride.
        const int64_t oh_lo = ::max(int64_t(0), floor_div(h + g.pad_h - g.kernel_h, g.stride_h) + 1);
        const int64_t oh_hi = ::min(g.out_h - 1, floor_div(h + g.pad_h, g.stride_h));
        const int64_t ow_lo = ::max(int64_t(0), floor_div(w + g.pad_w - g.kernel_w, g.stride_w) + 1);
        const int64_t ow_hi = ::min(g.out_w - 1, floor_div(w + g.pad_w, g.stride_w));
        A acc = 0;
        for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
            for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
                const AvgWindow win = avg_window(g, oh, ow);
                if (h < win.h0 || h >= win.h1 || w < win.w0 || w >= win.w1) continue;
                acc += A(to_compute(gy[out_base + oh * g.out_w + ow])) / A(win.divisor);
            }
        }
        gx[e] = device_convert<T>(acc);
    }
}

// ---- adaptive average pooling -----------------------------------------------------------------------

__device__ __forceinline__ int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ __forceinline__ int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
    return ((i + 1) * in + out - 1) / out;
}

template <class T>
__global__ void adaptive_avg_kernel(T* __restrict__ y, const T* __restrict__ x, Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.out_h * g.out_w;
    for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ow = o % g.out_w, oh = (o / g.out_w) % g.out_h, p = o / (g.out_w * g.out_h);
        const T* plane = x + p * g.in_h * g.in_w;
        const int64_t h0 = adaptive_start(oh, g.in_h, g.out_h), h1 = adaptive_end(oh, g.in_h, g.out_h);
        const int64_t w0 = adaptive_start(ow, g.in_w, g.out_w), w1 = adaptive_end(ow, g.in_w, g.out_w);
        A total_value = 0;
        for (int64_t h = h0; h < h1; ++h) {
            for (int64_t w = w0; w < w1; ++w) total_value += A(to_compute(plane[h * g.in_w + w]));
        }
        y[o] = device_convert<T>(total_value / A((h1 - h0) * (w1 - w0)));
    }
}

template <class T>
__global__ void adaptive_avg_grad_kernel(T* __restrict__ gx, const T* __restrict__ gy, Pool2dGeometry g) {
    using A = acc_type<T>;
    const int64_t total = g.planes * g.in_h * g.in_w;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = e % g.in_w, h = (e / g.in_w) % g.in_h, p = e / (g.in_w * g.in_h);
        const int64_t out_base = p * g.out_h * g.out_w;
        // h lies in window oh exactly when floor(h OH / H) <= oh < ceil((h + 1) OH / H).
        const int64_t oh_lo = (h * g.out_h) / g.in_h, oh_hi = ((h + 1) * g.out_h + g.in_h - 1) / g.in_h;
        const int64_t ow_lo = (w * g.out_w) / g.in_w, ow_hi = ((w + 1) * g.out_w + g.in_w - 1) / g.in_w;
        A acc = 0;
        for (int64_t oh = oh_lo; oh < ::min(oh_hi, g.out_h); ++oh) {
            const int64_t h0 = adaptive_start(oh, g.in_h, g.out_h), h1 = adaptive_end(oh, g.in_h, g.out_h);
            if (h < h0 || h >= h1) continue;
            for (int64_t ow = ow_lo; ow < ::min(ow_hi, g.out_w); ++ow) {
                const int64_t w0 = adaptive_start(ow, g.in_w, g.out_w), w1 = adaptive_end(ow, g.in_w, g.out_w);
                if (w < w0 || w >= w1) continue;
                acc += A(to_compute(gy[out_base + oh * g.out_w + ow])) / A((h1 - h0) * (w1 - w0));
            }
        }
        gx[e] = device_convert<T>(acc);
    }
}

// Runs kernel<T> over `items` threads (grid-stride) for a floating dtype.
template <class Launch>
void run(const char* op, DType dtype, const Tensor& like, int64_t items, Launch launch) {
    dispatch_floating_device(dtype, op, [&](auto tag) {
        if (items == 0) return;
        cudaStream_t stream = prepare(like);
        launch(tag, grid_size(items, kThreads, like.device().index), stream);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace

void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const Pool2dGeometry& g) {
    run("max_pool2d", x.dtype(), x, y.numel(), [&](auto tag, int grid, cudaStream_t stream) {
        using T = typename decltype(tag)::type;
        max_pool_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(y), ptr<int64_t>(indices), ptr<T>(x), g);
    });
}

void max_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Tensor& indices, const Pool2dGeometry& g) {
    run("max_pool2d backward", grad_y.dtype(), grad_y, grad_x.numel(), [&](auto tag, int grid, cudaStream_t stream) {
        using T = typename decltype(tag)::type;
        max_pool_grad_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(grad_x), ptr<T>(grad_y), ptr<int64_t>(indices), g);
    });
}

void avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    run("avg_pool2d", x.dtype(), x, y.numel(), [&](auto tag, int grid, cudaStream_t stream) {
        using T = typename decltype(tag)::type;
        avg_pool_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(y), ptr<T>(x), g);
    });
}

void avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    run("avg_pool2d backward", grad_y.dtype(), grad_y, grad_x.numel(), [&](auto tag, int grid, cudaStream_t stream) {
        using T = typename decltype(tag)::type;
        avg_pool_grad_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(grad_x), ptr<T>(grad_y), g);
    });
}

void adaptive_avg_pool2d(const Tensor& y, const Tensor& x, const Pool2dGeometry& g) {
    run("adaptive_avg_pool2d", x.dtype(), x, y.numel(), [&](auto tag, int grid, cudaStream_t stream) {
        using T = typename decltype(tag)::type;
        adaptive_avg_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(y), ptr<T>(x), g);
    });
}

void adaptive_avg_pool2d_grad(const Tensor& grad_x, const Tensor& grad_y, const Pool2dGeometry& g) {
    run("adaptive_avg_pool2d backward", grad_y.dtype(), grad_y, grad_x.numel(),
        [&](auto tag, int grid, cudaStream_t stream) {
            using T = typename decltype(tag)::type;
            adaptive_avg_grad_kernel<T><<<grid, kThreads, 0, stream>>>(ptr<T>(grad_x), ptr<T>(grad_y), g);
        });
}

}  // namespace wsol::cuda
