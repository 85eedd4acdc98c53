// conv2d on the CPU as im2col + GEMM (the Caffe/PyTorch "unfold" formulation).
//
// For one image and one group, im2col lays the input out as a matrix with one row per kernel tap
// (c, i, j) and one column per output pixel (oh, ow):
//   col[(c kh + i) kw + j][oh Wo + ow] = x[c][oh sh - ph + i dh][ow sw - pw + j dw]   (0 outside)
// so the convolution is one GEMM, y_g (O/G, Ho Wo) = W_g (O/G, C/G kh kw) @ col. The backward
// passes are GEMMs too:
//   grad W_g += grad_y_g @ col^T               (summed over the images)
//   grad col  = W_g^T @ grad_y_g, then col2im adds every entry back to the pixel it came from.
// Threading: image by image, im2col/col2im are OpenMP loops over kernel taps / channels and each
// GEMM is split over the same OpenMP threads (parallel_gemm; OpenBLAS itself stays
// single-threaded, see ops/cpu/blas.h). A 1x1, stride-1, unpadded convolution skips
// im2col: the input plane (C, H W) already is the matrix.
#include "ops/cpu/conv.h"

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
#pragma omp parallel for schedule(static) if (rows * cols > kGrain)
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
#pragma omp parallel for schedule(static) if (channels * taps * cols > kGrain)
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

template <class T>
void forward_typed(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias,
                   const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    std::vector<T> col(g.pointwise() ? 0 : size_t(patch * cols));
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* xg = px + (n * g.in_channels + grp * g.group_in()) * g.in_h * g.in_w;
            T* yg = py + (n * g.out_channels + grp * og) * cols;
            const T* matrix = xg;
            if (!g.pointwise()) {
                im2col(xg, col.data(), g.group_in(), g);
                matrix = col.data();
            }
            if (pb) {
                for (int64_t o = 0; o < og; ++o) std::fill(yg + o * cols, yg + (o + 1) * cols, pb[grp * og + o]);
            }
            // y_g (O/G, Ho Wo) = W_g (O/G, patch) @ col (patch, Ho Wo) [+ bias already in y_g]
            parallel_gemm<T>(og, cols, patch, T(1), pw + grp * og * patch, {false, patch}, matrix, {false, cols},
                             pb ? T(1) : T(0), yg, cols);
        }
    }
}

template <class T>
void grad_input_typed(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const T* pgy = grad_y.data<T>();
    const T* pw = weight.data<T>();
    T* pgx = grad_x.data<T>();
    std::vector<T> col(g.pointwise() ? 0 : size_t(patch * cols));
    if (!g.pointwise()) std::fill(pgx, pgx + grad_x.numel(), T(0));  // col2im adds into it
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* gyg = pgy + (n * g.out_channels + grp * og) * cols;
            T* gxg = pgx + (n * g.in_channels + grp * g.group_in()) * g.in_h * g.in_w;
            // grad col (patch, Ho Wo) = W_g^T (patch, O/G) @ grad y_g (O/G, Ho Wo); W_g is stored
            // (O/G, patch) row-major, i.e. W_g^T column-major with leading dimension `patch`.
            T* target = g.pointwise() ? gxg : col.data();
            parallel_gemm<T>(patch, cols, og, T(1), pw + grp * og * patch, {true, patch}, gyg, {false, cols}, T(0),
                             target, cols);
            if (!g.pointwise()) col2im(col.data(), gxg, g.group_in(), g);
        }
    }
}

template <class T>
void grad_weight_typed(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const Conv2dGeometry& g) {
    const int64_t cols = g.out_h * g.out_w, patch = g.patch(), og = g.group_out();
    const T* pgy = grad_y.data<T>();
    const T* px = x.data<T>();
    T* pgw = grad_weight.data<T>();
    std::vector<T> col(g.pointwise() ? 0 : size_t(patch * cols));
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const T* gyg = pgy + (n * g.out_channels + grp * og) * cols;
            const T* xg = px + (n * g.in_channels + grp * g.group_in()) * g.in_h * g.in_w;
            const T* matrix = xg;
            if (!g.pointwise()) {
                im2col(xg, col.data(), g.group_in(), g);
                matrix = col.data();
            }
            // grad W_g (O/G, patch) += grad y_g (O/G, Ho Wo) @ col^T (Ho Wo, patch); the first image
            // overwrites (beta 0), so grad_weight needs no zeroing.
            parallel_gemm<T>(og, patch, cols, T(1), gyg, {false, cols}, matrix, {true, cols}, n == 0 ? T(0) : T(1),
                             pgw + grp * og * patch, patch);
        }
    }
    if (g.batch == 0) std::fill(pgw, pgw + grad_weight.numel(), T(0));
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

}  // namespace wsol::cpu
