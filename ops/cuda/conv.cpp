// CUDA conv2d (ops/cuda/conv.h): cuDNN for the three convolutions, an elementwise kernel for the
// bias and a deterministic reduction for its gradient.
#include "ops/cuda/conv.h"

#include "ops/cuda/cudnn.h"
#include "ops/cuda/elementwise.h"
#include "ops/cuda/reduce.h"

namespace wsol::cuda {

namespace {

Conv2dGeometry cudnn_geometry(const wsol::Conv2dGeometry& g) {
    Conv2dGeometry c;
    c.stride_h = g.stride_h;
    c.stride_w = g.stride_w;
    c.pad_h = g.pad_h;
    c.pad_w = g.pad_w;
    c.dilation_h = g.dilation_h;
    c.dilation_w = g.dilation_w;
    c.groups = g.groups;
    return c;
}

// A contiguous (O) per-channel vector seen as (1, O, 1, 1).
Tensor channel_view(const Tensor& v) {
    const int64_t o = v.size(0);
    return v.as_strided({1, o, 1, 1}, {o, 1, 1, 1}, v.offset());
}

}  // namespace

void conv2d(const Tensor& y, const Tensor& x, const Tensor& weight, const Tensor& bias, const wsol::Conv2dGeometry& g) {
    conv2d_forward(y, x, weight, cudnn_geometry(g));
    if (bias.defined()) binary(BinaryOp::Add, y, y, channel_view(bias));  // in place: each thread one element
}

void conv2d_grad_input(const Tensor& grad_x, const Tensor& grad_y, const Tensor& weight, const wsol::Conv2dGeometry& g) {
    conv2d_backward_data(grad_x, grad_y, weight, cudnn_geometry(g));
}

void conv2d_grad_weight(const Tensor& grad_weight, const Tensor& grad_y, const Tensor& x, const wsol::Conv2dGeometry& g) {
    conv2d_backward_filter(grad_weight, grad_y, x, cudnn_geometry(g));
}

void conv2d_grad_bias(const Tensor& grad_bias, const Tensor& grad_y, const wsol::Conv2dGeometry&) {
    cuda::reduce(ReduceOp::Sum, channel_view(grad_bias), grad_y, Axes{0, 2, 3});
}

}  // namespace wsol::cuda
