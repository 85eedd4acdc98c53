// conv2d: checks, forward dispatch and the backward formulas (input, weight, bias).
//
// Shapes and errors follow torch.nn.functional.conv2d. The backward computes only the gradients
// that are needed (the first layer of a network never needs its input gradient):
//   grad x = col2im(W^T grad_y),  grad W = sum_n grad_y_n col_n^T,  grad b = sum over (N, Ho, Wo).
// On the GPU the three convolutions are cuDNN's (ops/cuda/conv.h); under bf16 autocast float32
// CUDA operands are cast to bfloat16 first (ops/autocast.h).
#include "ops/conv.h"

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/conv.h"
#include "ops/dispatch.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/conv.h"
#endif

namespace wsol {

namespace {

// x itself when contiguous, otherwise an unrecorded contiguous copy (the kernels read raw rows;
// autograd records the op on the original tensor).
Tensor dense(const Tensor& x) {
    if (!x.defined() || x.is_contiguous()) return x.defined() ? x.detach() : x;
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(out, x);
    return out;
}

Conv2dGeometry geometry(const Tensor& x, const Tensor& w, const Tensor& bias, Size2 stride, Size2 padding,
                        Size2 dilation, int64_t groups) {
    const std::string shapes = "input " + shape_str(x.shape()) + ", weight " + shape_str(w.shape());
    WSOL_CHECK(x.dim() == 4, "conv2d: expected input (N, C, H, W) or (C, H, W), got ", shape_str(x.shape()));
    WSOL_CHECK(w.dim() == 4, "conv2d: expected weight (O, C/groups, kh, kw), got ", shape_str(w.shape()));
    WSOL_CHECK(groups >= 1, "conv2d: groups must be positive, got ", groups);
    for (int k = 0; k < 2; ++k) {
        WSOL_CHECK(stride[k] >= 1, "conv2d: stride must be positive, got (", stride[0], ", ", stride[1], ")");
        WSOL_CHECK(dilation[k] >= 1, "conv2d: dilation must be positive, got (", dilation[0], ", ", dilation[1], ")");
        WSOL_CHECK(padding[k] >= 0, "conv2d: padding must be non-negative, got (", padding[0], ", ", padding[1], ")");
    }
    Conv2dGeometry g{};
    g.batch = x.size(0);
    g.in_channels = x.size(1);
    g.in_h = x.size(2);
    g.in_w = x.size(3);
    g.out_channels = w.size(0);
    g.kernel_h = w.size(2);
    g.kernel_w = w.size(3);
    g.groups = groups;
    WSOL_CHECK(g.kernel_h >= 1 && g.kernel_w >= 1 && g.out_channels >= 1, "conv2d: empty weight ",
               shape_str(w.shape()));
    WSOL_CHECK(g.out_channels % groups == 0, "conv2d: ", shapes, ": ", g.out_channels,
               " output channels are not divisible by groups=", groups);
    WSOL_CHECK(w.size(1) * groups == g.in_channels, "conv2d: ", shapes, ", groups=", groups, ": expected ",
               w.size(1) * groups, " input channels, got ", g.in_channels);
    if (bias.defined()) {
        WSOL_CHECK(bias.dim() == 1 && bias.size(0) == g.out_channels, "conv2d: bias ", shape_str(bias.shape()),
                   " does not match ", g.out_channels, " output channels");
    }
    g.stride_h = stride[0];
    g.stride_w = stride[1];
    g.pad_h = padding[0];
    g.pad_w = padding[1];
    g.dilation_h = dilation[0];
    g.dilation_w = dilation[1];
    g.out_h = window_output_size(g.in_h, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h);
    g.out_w = window_output_size(g.in_w, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w);
    WSOL_CHECK(g.out_h >= 1 && g.out_w >= 1, "conv2d: ", shapes, ": the padded input (", g.in_h + 2 * g.pad_h, ", ",
               g.in_w + 2 * g.pad_w, ") is smaller than the dilated kernel (", g.dilation_h * (g.kernel_h - 1) + 1,
               ", ", g.dilation_w * (g.kernel_w - 1) + 1, ")");
    return g;
}

// The backward kernels of the gradients' backend.
Tensor grad_input(const Tensor& gy, const Tensor& w, const Shape& x_shape, const Conv2dGeometry& g) {
    Tensor gx = Tensor::empty(x_shape, gy.dtype(), gy.device());
    switch (backend_of("conv2d backward", {gy, w})) {
        case DeviceType::CPU: cpu::conv2d_grad_input(gx, gy, w, g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::conv2d_grad_input(gx, gy, w, g)); break;
    }
    return gx;
}

Tensor grad_weight(const Tensor& gy, const Tensor& x, const Shape& w_shape, const Conv2dGeometry& g) {
    Tensor gw = Tensor::empty(w_shape, gy.dtype(), gy.device());
    switch (backend_of("conv2d backward", {gy, x})) {
        case DeviceType::CPU: cpu::conv2d_grad_weight(gw, gy, x, g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::conv2d_grad_weight(gw, gy, x, g)); break;
    }
    return gw;
}

Tensor grad_bias(const Tensor& gy, const Conv2dGeometry& g) {
    Tensor gb = Tensor::empty({g.out_channels}, gy.dtype(), gy.device());
    switch (backend_of("conv2d backward", {gy})) {
        case DeviceType::CPU: cpu::conv2d_grad_bias(gb, gy, g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::conv2d_grad_bias(gb, gy, g)); break;
    }
    return gb;
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups) {
    WSOL_CHECK(x_in.defined() && weight_in.defined(), "conv2d: undefined input or weight");
    // bf16 autocast: float32 CUDA operands convolve in bfloat16 (float32 accumulation in cuDNN).
    const Tensor x = autocast_lower(x_in), weight = autocast_lower(weight_in), bias = autocast_lower(bias_in);
    if (x.dim() == 3) return squeeze(conv2d(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups), 0);
    check_floating("conv2d", x);
    check_same_dtype("conv2d", x, weight);
    if (bias.defined()) check_same_dtype("conv2d", x, bias);
    const Conv2dGeometry g = geometry(x, weight, bias, stride, padding, dilation, groups);
    const DeviceType backend = backend_of("conv2d", {x, weight, bias});

    Tensor xc = dense(x), wc = dense(weight);
    Tensor y = Tensor::empty({g.batch, g.out_channels, g.out_h, g.out_w}, x.dtype(), x.device());
    switch (backend) {
        case DeviceType::CPU: cpu::conv2d(y, xc, wc, dense(bias), g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::conv2d(y, xc, wc, dense(bias), g)); break;
    }
    if (any_requires_grad({x, weight, bias})) {
        record_op("conv2d", {x, weight, bias}, {y}, [xc, wc, g](const TensorList& grads, const GradMask& need) {
            const Tensor gy = dense(grads[0]);  // (N, O, Ho, Wo)
            return TensorList{need[0] ? grad_input(gy, wc, xc.shape(), g) : Tensor(),
                              need[1] ? grad_weight(gy, xc, wc.shape(), g) : Tensor(),
                              need[2] ? grad_bias(gy, g) : Tensor()};
        });
    }
    return y;
}

}  // namespace wsol
