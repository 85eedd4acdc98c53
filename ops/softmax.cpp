// Softmax / log-softmax: forward dispatch and backward formula side by side (see ops/softmax.h).
// x: any shape and layout -> y: same shape, contiguous. Kernels want rows, so a strided input is
// made contiguous first; the backward saves only y. Under bf16 autocast a bf16 CUDA input is cast
// to float32 first (ops/autocast.h).
#include "ops/softmax.h"

#include <algorithm>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/softmax.h"
#include "ops/dispatch.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/softmax.h"
#endif

namespace wsol {

namespace {

Tensor softmax_impl(const Tensor& x_in, int64_t axis_in, bool log) {
    const char* name = log ? "log_softmax" : "softmax";
    WSOL_CHECK(x_in.defined(), name, ": undefined input");
    const Tensor x = autocast_float(x_in);  // bf16 autocast: computed and returned in float32
    check_floating(name, x);
    // A 0-dim tensor is one row of one element: PyTorch accepts axis 0 or -1 for it, and the
    // kernels see (outer, n, inner) = (1, 1, 1).
    const int64_t axis = wrap_axis(axis_in, std::max<int64_t>(x.dim(), 1), name);
    const Tensor xc = contiguous(x).detach();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    switch (backend_of(name, {xc})) {
        case DeviceType::CPU: cpu::softmax(y, xc, axis, log); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::softmax(y, xc, axis, log)); break;
    }
    if (any_requires_grad({x})) {
        // softmax: gx = y (g - sum(g y));  log_softmax: gx = g - exp(y) sum(g)  (sums along axis)
        record_op(name, {x}, {y}, [y = y.detach(), axis, log, name](const TensorList& g, const GradMask&) {
            const Tensor gy = contiguous(g[0]);
            Tensor gx = Tensor::empty(y.shape(), y.dtype(), y.device());
            switch (backend_of(name, {gy, y})) {
                case DeviceType::CPU: cpu::softmax_backward(gx, gy, y, axis, log); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::softmax_backward(gx, gy, y, axis, log)); break;
            }
            return TensorList{gx};
        });
    }
    return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, false); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, true); }

}  // namespace wsol
