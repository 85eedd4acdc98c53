// Pooling ops: argument checks (PyTorch's pool2d_shape_check), forward dispatch and backward.
// A 3-D (C, H, W) input is pooled as a batch of one.
#include "ops/pool.h"

#include "autograd/node.h"
#include "ops/cpu/pool.h"
#include "ops/dispatch.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/pool.h"
#endif

namespace wsol {

namespace {

Tensor dense(const Tensor& x) {
    if (x.is_contiguous()) return x.detach();
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(out, x);
    return out;
}

void check_input(const char* op, const Tensor& x) {
    WSOL_CHECK(x.defined(), op, ": undefined input");
    WSOL_CHECK(x.dim() == 4, op, ": expected input (N, C, H, W) or (C, H, W), got ", shape_str(x.shape()));
    check_floating(op, x);
    WSOL_CHECK(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0, op, ": input ", shape_str(x.shape()),
               " has an empty channel or spatial dimension");
}

Pool2dGeometry window_geometry(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                               Size2 dilation, bool ceil_mode) {
    for (int k = 0; k < 2; ++k) {
        WSOL_CHECK(kernel[k] >= 1, op, ": kernel size must be positive, got (", kernel[0], ", ", kernel[1], ")");
        WSOL_CHECK(stride[k] >= 1, op, ": stride must be positive, got (", stride[0], ", ", stride[1], ")");
        WSOL_CHECK(dilation[k] >= 1, op, ": dilation must be positive, got (", dilation[0], ", ", dilation[1], ")");
        WSOL_CHECK(padding[k] >= 0 && padding[k] <= kernel[k] / 2, op, ": padding (", padding[0], ", ", padding[1],
                   ") must be between 0 and half the kernel size (", kernel[0], ", ", kernel[1], ")");
    }
    Pool2dGeometry g{};
    g.planes = x.size(0) * x.size(1);
    g.in_h = x.size(2);
    g.in_w = x.size(3);
    g.kernel_h = kernel[0];
    g.kernel_w = kernel[1];
    g.stride_h = stride[0];
    g.stride_w = stride[1];
    g.pad_h = padding[0];
    g.pad_w = padding[1];
    g.dilation_h = dilation[0];
    g.dilation_w = dilation[1];
    g.out_h = window_output_size(g.in_h, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h, ceil_mode);
    g.out_w = window_output_size(g.in_w, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w, ceil_mode);
    WSOL_CHECK(g.out_h >= 1 && g.out_w >= 1, op, ": input ", shape_str(x.shape()), " is too small for kernel (",
               kernel[0], ", ", kernel[1], ") with padding (", padding[0], ", ", padding[1], ") and dilation (",
               dilation[0], ", ", dilation[1], "): output size would be (", g.out_h, ", ", g.out_w, ")");
    return g;
}

}  // namespace

MaxPoolResult max_pool2d_with_indices(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
                                      bool ceil_mode) {
    if (x.defined() && x.dim() == 3) {
        MaxPoolResult r = max_pool2d_with_indices(unsqueeze(x, 0), kernel, stride, padding, dilation, ceil_mode);
        return {squeeze(r.values, 0), squeeze(r.indices, 0)};
    }
    check_input("max_pool2d", x);
    const Pool2dGeometry g = window_geometry("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
    const Shape out_shape{x.size(0), x.size(1), g.out_h, g.out_w};
    Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor indices = Tensor::empty(out_shape, kInt64, x.device());
    switch (backend_of("max_pool2d", {x})) {
        case DeviceType::CPU: cpu::max_pool2d(y, indices, dense(x), g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::max_pool2d(y, indices, dense(x), g)); break;
    }
    if (any_requires_grad({x})) {
        // The gradient of each output goes to the input element it picked.
        record_op("max_pool2d", {x}, {y}, [g, shape = x.shape(), indices](const TensorList& grads, const GradMask&) {
            Tensor gx = Tensor::empty(shape, grads[0].dtype(), grads[0].device());
            switch (backend_of("max_pool2d backward", {grads[0]})) {
                case DeviceType::CPU: cpu::max_pool2d_grad(gx, dense(grads[0]), indices, g); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::max_pool2d_grad(gx, dense(grads[0]), indices, g)); break;
            }
            return TensorList{gx};
        });
    }
    return {y, indices};
}

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, bool ceil_mode) {
    return max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).values;
}

Tensor max_pool2d(const Tensor& x, Size2 kernel) { return max_pool2d(x, kernel, kernel); }

Tensor avg_pool2d(const Tensor& x, Size2 kernel) { return avg_pool2d(x, kernel, kernel); }

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode, bool count_include_pad) {
    if (x.defined() && x.dim() == 3) {
        return squeeze(avg_pool2d(unsqueeze(x, 0), kernel, stride, padding, ceil_mode, count_include_pad), 0);
    }
    check_input("avg_pool2d", x);
    Pool2dGeometry g = window_geometry("avg_pool2d", x, kernel, stride, padding, {1, 1}, ceil_mode);
    g.count_include_pad = count_include_pad;
    Tensor y = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
    switch (backend_of("avg_pool2d", {x})) {
        case DeviceType::CPU: cpu::avg_pool2d(y, dense(x), g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::avg_pool2d(y, dense(x), g)); break;
    }
    if (any_requires_grad({x})) {
        // Each output spreads its gradient evenly over its window (divided by the same divisor).
        record_op("avg_pool2d", {x}, {y}, [g, shape = x.shape()](const TensorList& grads, const GradMask&) {
            Tensor gx = Tensor::empty(shape, grads[0].dtype(), grads[0].device());
            switch (backend_of("avg_pool2d backward", {grads[0]})) {
                case DeviceType::CPU: cpu::avg_pool2d_grad(gx, dense(grads[0]), g); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::avg_pool2d_grad(gx, dense(grads[0]), g)); break;
            }
            return TensorList{gx};
        });
    }
    return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    if (x.defined() && x.dim() == 3) return squeeze(adaptive_avg_pool2d(unsqueeze(x, 0), output_size), 0);
    check_input("adaptive_avg_pool2d", x);
    WSOL_CHECK(output_size[0] >= 1 && output_size[1] >= 1, "adaptive_avg_pool2d: output size must be positive, got (",
               output_size[0], ", ", output_size[1], ")");
    Pool2dGeometry g{};
    g.planes = x.size(0) * x.size(1);
    g.in_h = x.size(2);
    g.in_w = x.size(3);
    g.out_h = output_size[0];
    g.out_w = output_size[1];
    Tensor y = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
    switch (backend_of("adaptive_avg_pool2d", {x})) {
        case DeviceType::CPU: cpu::adaptive_avg_pool2d(y, dense(x), g); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::adaptive_avg_pool2d(y, dense(x), g)); break;
    }
    if (any_requires_grad({x})) {
        record_op("adaptive_avg_pool2d", {x}, {y}, [g, shape = x.shape()](const TensorList& grads, const GradMask&) {
            Tensor gx = Tensor::empty(shape, grads[0].dtype(), grads[0].device());
            switch (backend_of("adaptive_avg_pool2d backward", {grads[0]})) {
                case DeviceType::CPU: cpu::adaptive_avg_pool2d_grad(gx, dense(grads[0]), g); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::adaptive_avg_pool2d_grad(gx, dense(grads[0]), g)); break;
            }
            return TensorList{gx};
        });
    }
    return y;
}

}  // namespace wsol
