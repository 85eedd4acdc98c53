// 2-D convolution (cross-correlation, like torch.nn.functional.conv2d), with backward for the
// input, the weight and the bias.
//
//   x (N, C, H, W) or (C, H, W), weight (O, C / groups, kh, kw), bias (O) or undefined
//   -> y (N, O, Ho, Wo) with Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1 (Wo likewise).
// groups splits the channels into independent convolutions: output channels [g O/G, (g+1) O/G)
// see only input channels [g C/G, (g+1) C/G). The CPU computes it as im2col + GEMM.
#pragma once

#include "engine/tensor.h"
#include "ops/window.h"

namespace wsol {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = {1, 1},
              Size2 padding = {0, 0}, Size2 dilation = {1, 1}, int64_t groups = 1);

// Everything a conv2d kernel needs to know about the shapes (filled and checked by conv2d).
struct Conv2dGeometry {
    int64_t batch, in_channels, in_h, in_w;
    int64_t out_channels, kernel_h, kernel_w, out_h, out_w;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t groups;
    int64_t group_in() const { return in_channels / groups; }           // input channels per group
    int64_t group_out() const { return out_channels / groups; }         // output channels per group
    int64_t patch() const { return group_in() * kernel_h * kernel_w; }  // rows of the im2col matrix
    // A 1x1 kernel with unit stride and no padding: the input plane already is the im2col matrix.
    bool pointwise() const {
        return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
    }
};

}  // namespace wsol
