// conv2d on the CPU as im2col + GEMM (the Caffe/PyTorch "unfold" formulation).
//
// For one image and one group, im2col lays the input out as a matrix with one row per kernel tap
// (c, i, j) and one column per output pixel (oh, ow):
//   col[(c kh + i) kw + j][oh Wo + ow] = x[c][oh sh - ph + i dh][ow sw - pw + j dw]   (0 outside)
// so the convolution is one GEMM, y_g (O/G, Ho Wo) = W_g (O/G, C/G kh kw) @ col. The backward
// passes are GEMMs too:
//   grad W_g += grad_y_g @ col^T               (summed over the images)
//   grad col  = W_g^T @ grad_y_g, then col2im adds every entry back to the pixel it came from.
// A 1x1, stride-1, unpadded convolution skips im2col: the input plane (C, H W) already is the
// matrix.
//
// Threading (OpenMP only; OpenBLAS stays single-threaded, see ops/cpu/blas.h). With at least as
// many images as threads, one parallel loop over the images: each thread runs im2col and a
// single-threaded GEMM on whole images with its own column buffer (the weight gradient goes to a
// per-thread partial sum, added up at the end). One parallel region per call matters: every
// region is a fork/join of the thread team, and on a loaded machine a sleeping worker can take
// milliseconds to wake. With fewer images (inference on one image), the images run one after
// the other and im2col, col2im and each GEMM are split over the threads instead.
#include "ops/cpu/conv.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "engine/dispatch.h"
#include "ops/cpu/blas.h"

namespace wsol::cpu {

namespace {

constexpr int64_t kGrain = 32768;  // elements per thread before a loop is split

// Output positions o in [0, out) whose input position o*stride + offset lies in [0, size).
struct Range {
    int64_t lo, hi;
};
Range valid_outputs(int64_t offset, int64_t stride, int64_t size, int64_t out) {
    int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t hi = size - 1 - offset >= 0 ? (size - 1 - offset) / stride + 1 : 0;
    lo = std::min(lo, out);
    hi = std::clamp(hi, lo, out);
    return {lo, hi};
}

// x: (channels, H, W) -> col: (channels kh kw, Ho Wo)
template <class T>
void im2col(const T* x, T* col, int64_t channels, const Conv2dGeometry& g) {
    const int64_t taps = g.kernel_h * g.kernel_w, rows = channels * taps, cols = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (rows * cols > kGrain && !omp_in_parallel())
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r / taps, i = (r / g.kernel_w) % g.kernel_h, j = r % g.kernel_w;
        const T* plane = x + c * g.in_h * g.in_w;
        const int64_t row_offset = i * g.dilation_h - g.pad_h, col_offset = j * g.dilation_w - g.pad_w;
        const Range valid = valid_outputs(col_offset, g.stride_w, g.in_w, g.out_w);
        T* dst = col + r * cols;
        for (int64_t oh = 0; oh < g.out_h; ++oh, dst += g.out_w) {
            const int64_t ih = oh * g.stride_h + row_offset;
            if (ih < 0 || ih >= g.in_h) {
                std::fill(dst, dst + g.out_w, T(0));
                continue;
            }
            const T* src = plane + ih * g.in_w + col_offset;
            std::fill(dst, dst + valid.lo, T(0));
            if (g.stride_w == 1) {
                std::copy(src + valid.lo, src + valid.hi, dst + valid.lo);
            } else {
                for (int64_t ow = valid.lo; ow < valid.hi; ++ow) dst[ow] = src[ow * g.stride_w];
            }
            std::fill(dst + valid.hi, dst + g.out_w, T(0));
        }
    }
}

// col: (channels kh kw, Ho Wo) -> x: (channels, H, W), adding (x must start at zero). One thread
// per channel, so no two threads write the same pixel.
template <class T>
void col2im(const T* col, T* x, int64_t channels, const Conv2dGeometry& g) {
    const int64_t taps = g.kernel_h * g.kernel_w, cols = g.out_h * g.out_w;
#pragma omp parallel for schedule(static) if (channels * taps * cols > kGrain && !omp_in_parallel())
    for (int64_t c = 0; c < channels; ++c) {
        T* plane = x + c * g.in_h * g.in_w;
        for (int64_t i = 0; i < g.kernel_h; ++i) {
            for (int64_t j = 0; j < g.kernel_w; ++j) {
                const T* src = col + ((c * g.kernel_h + i) * g.kernel_w + j) * cols;
                const int64_t row_offset = i * g.dilation_h - g.pad_h, col_offset = j * g.dilation_w - g.pad_w;
                const Range valid = valid_outputs(col_offset, g.stride_w, g.in_w, g.out_w);
                for (int64_t oh = 0; oh < g.out_h; ++oh) {
                    const int64_t ih = oh * g.stride_h + row_offset;
                    if (ih < 0 || ih >= g.in_h) continue;
                    T* dst = plane + ih * g.in_w + col_offset;
                    const T* s = src + oh * g.out_w;
                    for (int64_t ow = valid.lo; ow < valid.hi; ++ow) dst[ow * g.stride_w] += s[ow];
                }
            }
        }
    }
}

void check_sizes(const Conv2dGeometry& g) {
    for (int64_t v : {g.group_out(), g.patch(), g.out_h * g.out_w, g.in_h * g.in_w}) check_blas_int("conv2d", v);
}

// Images in parallel (one per thread at a time) rather than one image on all threads?
bool images_in_parallel(const Conv2dGeometry& g) {
    const int64_t threads = omp_get_max_threads();
    return threads > 1 && g.batch >= threads;
}

// One im2col buffer per thread that may run an image (empty for pointwise convolutions).
template <class T>
std::vector<std::vector<T>> column_buffers(const Conv2dGeometry& g, bool parallel) {
    const size_t size = g.pointwise() ? 0 : size_t(g.patch() * g.out_h * g.out_w);
    return std::vector<std::vector<T>>(parallel ? size_t(omp_get_max_threads()) : 1, std::vector<T>(size));
}

// How images are dealt to threads: first come, first served (a thread that was descheduled on a
// busy machine does not hold up the others), or in fixed contiguous ranges where the result
// depends on which thread ran an image (per-thread partial sums: a fixed split keeps the sum
// order, and so the rounding, the same from run to run).
enum class Deal { Dynamic, Fixed };

// Runs image(n, buffer) for every image, in parallel over the images or one after the other.
template <class T, class F>
void for_each_image(const Conv2dGeometry& g, std::vector<std::vector<T>>& buffers, bool parallel, Deal deal,
                    F&& image) {
    if (parallel && deal == Deal::Dynamic) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t n = 0; n < g.batch; ++n) image(n, buffers[size_t(omp_get_thread_num())].data());
    } else if (parallel) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < g.batch; ++n) image(n, buffers[size_t(omp_get_thread_num())].data());
    } else {
        for (int64_t n = 0; n < g.batch; ++n) image(n, buffers[0].data());
    }
}

template <class T>
void forward_typed(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                   const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    const bool parallel = images_in_parallel(g);
    std::vector<std::vector<T>> buffers = column_buffers<T>(g, parallel);
    for_each_image(g, buffers, parallel, Deal::Dynamic, [&](int64_t n, T* col) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* xg = px + (n * g.in_channels + grp * g.group_in()) * g.in_h * g.in_w;
            T* yg = py + (n * g.out_channels + grp * og) * cols;
            const T* matrix = xg;
            if (!g.pointwise()) {
                im2col(xg, col, g.group_in(), g);
                matrix = col;
            }
            if (pb) {
                for (int64_t o = 0; o < og; ++o) std::fill(yg + o * cols, yg + (o + 1) * cols, pb[grp * og + o]);
            }
            // y_g (O/G, Ho Wo) = W_g (O/G, patch) @ col (patch, Ho Wo) [+ bias already in y_g]
            parallel_gemm<T>(og, cols, patch, T(1), pw + grp * og * patch, {false, patch}, matrix, {false, cols},
                             pb ? T(1) : T(0), yg, cols);
        }
    });
}

template <class T>
void grad_input_typed(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const int64_t image = g.in_channels * g.in_h * g.in_w;
    const T* pgy = grad_y.data<T>();
    const T* pw = weight.data<T>();
    T* pgx = grad_x.data<T>();
    const bool parallel = images_in_parallel(g);
    std::vector<std::vector<T>> buffers = column_buffers<T>(g, parallel);
    for_each_image(g, buffers, parallel, Deal::Dynamic, [&](int64_t n, T* col) {
        if (!g.pointwise()) std::fill(pgx + n * image, pgx + (n + 1) * image, T(0));  // col2im adds into it
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* gyg = pgy + (n * g.out_channels + grp * og) * cols;
            T* gxg = pgx + n * image + grp * g.group_in() * g.in_h * g.in_w;
            // grad col (patch, Ho Wo) = W_g^T (patch, O/G) @ grad y_g (O/G, Ho Wo); W_g is stored
            // (O/G, patch) row-major, i.e. W_g^T column-major with leading dimension `patch`.
            T* target = g.pointwise() ? gxg : col;
            parallel_gemm<T>(patch, cols, og, T(1), pw + grp * og * patch, {true, patch}, gyg, {false, cols}, T(0),
                             target, cols);
            if (!g.pointwise()) col2im(col, gxg, g.group_in(), g);
        }
    });
}

template <class T>
void grad_weight_typed(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const int64_t weights = grad_weight.numel();
    const T* pgy = grad_y.data<T>();
    const T* px = x.data<T>();
    T* pgw = grad_weight.data<T>();
    const bool parallel = images_in_parallel(g);
    std::vector<std::vector<T>> buffers = column_buffers<T>(g, parallel);
    // Each thread sums its images into its own partial gradient; they are added up at the end.
    std::vector<std::vector<T>> partial(parallel ? buffers.size() : 0, std::vector<T>(size_t(weights), T(0)));
    if (!parallel) std::fill(pgw, pgw + weights, T(0));
    for_each_image(g, buffers, parallel, Deal::Fixed, [&](int64_t n, T* col) {
        T* sum = parallel ? partial[size_t(omp_get_thread_num())].data() : pgw;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* gyg = pgy + (n * g.out_channels + grp * og) * cols;
            const T* xg = px + (n * g.in_channels + grp * g.group_in()) * g.in_h * g.in_w;
            const T* matrix = xg;
            if (!g.pointwise()) {
                im2col(xg, col, g.group_in(), g);
                matrix = col;
            }
            // grad W_g (O/G, patch) += grad y_g (O/G, Ho Wo) @ col^T (Ho Wo, patch)
            parallel_gemm<T>(og, patch, cols, T(1), gyg, {false, cols}, matrix, {true, cols}, T(1),
                             sum + grp * og * patch, patch);
        }
    });
    if (parallel) {
        std::fill(pgw, pgw + weights, T(0));
        for (const std::vector<T>& p : partial) {
            for (int64_t i = 0; i < weights; ++i) pgw[i] += p[size_t(i)];
        }
    }
}

template <class T>
void grad_bias_typed(const Tensor& grad_bias, const Tensor& grad_y, const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w;
    const T* pgy = grad_y.data<T>();
    T* pgb = grad_bias.data<T>();
#pragma omp parallel for schedule(static) if (g.batch * g.out_channels * cols > kGrain)
    for (int64_t o = 0; o < g.out_channels; ++o) {
        double total = 0.0;
        for (int64_t n = 0; n < g.batch; ++n) {
            const T* plane = pgy + (n * g.out_channels + o) * cols;
            for (int64_t i = 0; i < cols; ++i) total += double(plane[i]);
        }
        pgb[o] = T(total);
    }
}

}  // namespace

void conv2d(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g) {
    check_sizes(g);
    dispatch_floating(x.dtype(), "conv2d",
                      [&](auto tag) { forward_typed<typename decltype(tag)::type>(y, x, weight, bias, g); });
}

void conv2d_grad_input(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const Conv2dGeometry& g) {
    check_sizes(g);
    dispatch_floating(grad_y.dtype(), "conv2d",
                      [&](auto tag) { grad_input_typed<typename decltype(tag)::type>(grad_x, grad_y, weight, g); });
}

void conv2d_grad_weight(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const Conv2dGeometry& g) {
    check_sizes(g);
    dispatch_floating(grad_y.dtype(), "conv2d",
                      [&](auto tag) { grad_weight_typed<typename decltype(tag)::type>(grad_weight, grad_y, x, g); });
}

void conv2d_grad_bias(const Tensor& grad_bias, const Tensor& grad_y, const Conv2dGeometry& g) {
    dispatch_floating(grad_y.dtype(), "conv2d",
                      [&](auto tag) { grad_bias_typed<typename decltype(tag)::type>(grad_bias, grad_y, g); });
}

}  // namespace wsol::cpu
