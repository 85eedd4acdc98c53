// 2-D pooling over (N, C, H, W) or (C, H, W) inputs, as torch.nn.functional's max_pool2d,
// avg_pool2d and adaptive_avg_pool2d, each with its backward.
//
// Windows: output pixel (oh, ow) covers input rows oh*stride - padding + i*dilation, i < kernel
// (columns likewise). The overloads without a stride use stride = kernel (PyTorch's default).
// padding may be at most half the kernel.
// ceil_mode rounds the output size up, but a window must start inside the input or its left
// padding (so no window lies entirely in the right padding).
//   max: padded positions count as -inf (never chosen); NaN wins (propagates); the gradient goes
//        to the chosen element (argmax), summed where windows overlap on it.
//   avg: divides by the window area including the zero padding (count_include_pad, PyTorch's
//        default) or by the number of real input elements. In ceil_mode the part of a window past
//        the right padding is never counted.
//   adaptive avg: output (oh, ow) averages rows [floor(oh H / OH), ceil((oh + 1) H / OH)) and the
//        same rule for columns, so every input element is covered and windows may overlap.
#pragma once

#include "engine/tensor.h"
#include "ops/window.h"

namespace wsol {

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0}, Size2 dilation = {1, 1},
                  bool ceil_mode = false);
Tensor max_pool2d(const Tensor& x, Size2 kernel);

struct MaxPoolResult {
    Tensor values;   // (N, C, Ho, Wo), differentiable
    Tensor indices;  // int64, flat index h * W + w of the chosen element within its (H, W) plane
};
MaxPoolResult max_pool2d_with_indices(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0},
                                      Size2 dilation = {1, 1}, bool ceil_mode = false);

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor avg_pool2d(const Tensor& x, Size2 kernel);

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

// Shapes of a pooling kernel call (filled and checked by the functions above). `planes` = N C.
struct Pool2dGeometry {
    int64_t planes, in_h, in_w, out_h, out_w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    bool count_include_pad;
};

}  // namespace wsol
