// Dropout / drop-path: forward dispatch and backward side by side (see ops/dropout.h).
// x: any shape -> y: same shape, contiguous. mask: uint8, x's shape (dropout) or (N, 1, ..., 1)
// (drop_path); y = x * mask * scale and gx = g * mask * scale with scale = 1 / (1 - p).
#include "ops/dropout.h"

#include "autograd/node.h"
#include "ops/cpu/dropout.h"
#include "ops/dispatch.h"
#include "ops/random.h"
#if WSOL_CUDA
#include "ops/cuda/dropout.h"
#endif

namespace wsol {

namespace {

Tensor run_masked_scale(const char* op, const Tensor& x, const Tensor& mask, double scale) {
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    switch (backend_of(op, {x, mask})) {
        case DeviceType::CPU: cpu::masked_scale(out, x, mask, scale); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::masked_scale(out, x, mask, scale)); break;
    }
    return out;
}

// The shared body: draw a uint8 mask of `mask_shape` with keep probability 1 - p, apply it.
Tensor apply_random_mask(const char* op, const Tensor& x, double p, bool training, Generator& gen,
                         const Shape& mask_shape) {
    WSOL_CHECK(x.defined(), op, ": undefined input");
    check_floating(op, x);
    WSOL_CHECK(p >= 0.0 && p <= 1.0, op, ": probability ", p, " is outside [0, 1]");
    if (!training || p == 0.0) return x;
    const double keep = 1.0 - p;
    // p == 1: every element is dropped; the scale would be 1/0, so it is taken as 0 instead.
    const Tensor mask = keep > 0.0 ? rand_bernoulli(mask_shape, gen, keep, kUInt8, x.device())
                                   : Tensor::zeros(mask_shape, kUInt8, x.device());
    const double scale = keep > 0.0 ? 1.0 / keep : 0.0;
    Tensor y = run_masked_scale(op, x, mask, scale);
    if (any_requires_grad({x})) {
        record_op(op, {x}, {y}, [op, mask, scale](const TensorList& g, const GradMask&) {
            return TensorList{run_masked_scale(op, g[0], mask, scale)};
        });
    }
    return y;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
    return apply_random_mask("dropout", x, p, training, gen, x.defined() ? x.shape() : Shape{});
}

Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen) {
    WSOL_CHECK(!x.defined() || x.dim() >= 1, "drop_path: expected an input with a batch axis, got a 0-dim tensor");
    // x: (N, ...) -> mask: (N, 1, ..., 1), one draw per sample
    Shape mask_shape;
    if (x.defined()) {
        mask_shape.assign(size_t(x.dim()), 1);
        mask_shape[0] = x.shape()[0];
    }
    return apply_random_mask("drop_path", x, p, training, gen, mask_shape);
}

}  // namespace wsol
