// Reductions: forward dispatch and backward formulas.
//
// Backward of a reduction broadcasts the output gradient back over the reduced axes: the kernel
// result is reshaped to the keepdim shape and expanded to the input's shape (a view, no copy).
// Under bf16 autocast, sum (so mean and var too) and logsumexp cast bf16 CUDA inputs to float32.
#include "ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/reduce.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/reduce.h"
#endif

namespace wsol {

Axes normalize_axes(const Axes& axes, int64_t ndim, const char* op) {
    Axes out;
    if (axes.empty()) {
        for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
        return out;
    }
    for (int64_t a : axes) out.push_back(wrap_axis(a, ndim, op));
    std::sort(out.begin(), out.end());
    WSOL_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": an axis is listed twice");
    return out;
}

Shape reduced_shape(const Shape& shape, const Axes& axes, bool keepdim) {
    Shape out;
    for (size_t d = 0; d < shape.size(); ++d) {
        const bool reduced = std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
        if (!reduced) {
            out.push_back(shape[d]);
        } else if (keepdim) {
            out.push_back(1);
        }
    }
    return out;
}

namespace {

// Runs a reduction kernel; returns the result in keepdim shape.
Tensor run_reduce(cpu::ReduceOp op, const char* name, const Tensor& x, const Axes& axes) {
    Tensor out = Tensor::empty(reduced_shape(x.shape(), axes, true), x.dtype(), x.device());
    switch (backend_of(name, {x})) {
        case DeviceType::CPU: cpu::reduce(op, out, x, axes); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::reduce(op, out, x, axes)); break;
    }
    return out;
}

// A keepdim-shaped gradient spread back to the input's shape.
Tensor expand_back(const Tensor& grad, const Shape& keep_shape, const Shape& input_shape) {
    return expand(reshape(grad, keep_shape), input_shape);
}

}  // namespace

Tensor sum(const Tensor& x_in, const Axes& axes_in, bool keepdim) {
    if (x_in.dtype() == kBool) return sum(to(x_in, kInt64), axes_in, keepdim);  // counts, as PyTorch
    const Tensor x = autocast_float(x_in);  // bf16 autocast: sums run and return in float32
    const Axes axes = normalize_axes(axes_in, x.dim(), "sum");
    Tensor kept = run_reduce(cpu::ReduceOp::Sum, "sum", x, axes);
    Tensor y = keepdim ? kept : reshape(kept, reduced_shape(x.shape(), axes, false));
    if (any_requires_grad({x})) {
        record_op("sum", {x}, {y}, [keep = kept.shape(), shape = x.shape()](const TensorList& g, const GradMask&) {
            return TensorList{expand_back(g[0], keep, shape)};  // a broadcast view, no copy
        });
    }
    return y;
}

Tensor mean(const Tensor& x, const Axes& axes_in, bool keepdim) {
    check_floating("mean", x);
    const Axes axes = normalize_axes(axes_in, x.dim(), "mean");
    int64_t count = 1;
    for (int64_t a : axes) count *= x.shape()[size_t(a)];
    return div(sum(x, axes, keepdim), double(count));
}

Tensor var(const Tensor& x, const Axes& axes_in, int64_t correction, bool keepdim) {
    check_floating("var", x);
    const Axes axes = normalize_axes(axes_in, x.dim(), "var");
    int64_t count = 1;
    for (int64_t a : axes) count *= x.shape()[size_t(a)];
    WSOL_CHECK(correction >= 0, "var: negative correction ", correction);
    // Like PyTorch, fewer elements than the correction give inf/nan rather than an error.
    const double denominator = double(std::max<int64_t>(count - correction, 0));
    Tensor centered = sub(x, mean(x, axes, true));
    return div(sum(square(centered), axes, keepdim), denominator);
}

namespace {

Tensor extreme(cpu::ReduceOp op, const char* name, const Tensor& x, const Axes& axes_in, bool keepdim) {
    const Axes axes = normalize_axes(axes_in, x.dim(), name);
    for (int64_t a : axes) {
        WSOL_CHECK(x.shape()[size_t(a)] > 0, name, ": reduction over an empty axis ", a, " of ", shape_str(x.shape()));
    }
    Tensor kept = run_reduce(op, name, x, axes);
    Tensor y = keepdim ? kept : reshape(kept, reduced_shape(x.shape(), axes, false));
    if (any_requires_grad({x})) {
        // The gradient goes to every element equal to the extreme, split evenly among ties.
        record_op(name, {x}, {y}, [x = x.detach(), kept = kept.detach(), axes](const TensorList& g, const GradMask&) {
            Tensor hit = to(eq(x, expand(kept, x.shape())), x.dtype());
            Tensor count = sum(hit, axes, true);
            Tensor share = div(reshape(g[0], kept.shape()), count);
            return TensorList{mul(hit, share)};
        });
    }
    return y;
}

ValuesIndices arg_extreme(cpu::ReduceOp op, const char* name, const Tensor& x, int64_t axis_in, bool keepdim) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), name);
    WSOL_CHECK(x.shape()[size_t(axis)] > 0, name, ": reduction over an empty axis ", axis, " of ", shape_str(x.shape()));
    const Shape keep_shape = reduced_shape(x.shape(), {axis}, true);
    Tensor values = Tensor::empty(keep_shape, x.dtype(), x.device());
    Tensor indices = Tensor::empty(keep_shape, kInt64, x.device());
    switch (backend_of(name, {x})) {
        case DeviceType::CPU: cpu::arg_reduce(op, values, indices, x, axis); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::arg_reduce(op, values, indices, x, axis)); break;
    }
    if (!keepdim) {
        const Shape drop = reduced_shape(x.shape(), {axis}, false);
        values = reshape(values, drop);
        indices = reshape(indices, drop);
    }
    if (any_requires_grad({x})) {
        // Gradient to the selected element only: compare an arange along the axis with the index.
        record_op(name, {x}, {values},
                  [shape = x.shape(), axis, keep_shape, idx = indices.detach()](const TensorList& g, const GradMask&) {
                      Shape line(shape.size(), 1);
                      line[size_t(axis)] = shape[size_t(axis)];
                      Tensor positions = reshape(arange(shape[size_t(axis)], kInt64, g[0].device()), line);
                      Tensor selected = eq(positions, reshape(idx, keep_shape));
                      Tensor zero = Tensor::zeros({}, g[0].dtype(), g[0].device());
                      return TensorList{contiguous(where(selected, reshape(g[0], keep_shape), zero))};
                  });
    }
    return {values, indices};
}

}  // namespace

Tensor amax(const Tensor& x, const Axes& axes, bool keepdim) { return extreme(cpu::ReduceOp::Max, "amax", x, axes, keepdim); }
Tensor amin(const Tensor& x, const Axes& axes, bool keepdim) { return extreme(cpu::ReduceOp::Min, "amin", x, axes, keepdim); }

ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim) {
    return arg_extreme(cpu::ReduceOp::Max, "max", x, axis, keepdim);
}
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim) {
    return arg_extreme(cpu::ReduceOp::Min, "min", x, axis, keepdim);
}
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
    NoGradGuard no_grad;
    return max(x, axis, keepdim).indices;
}
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) {
    NoGradGuard no_grad;
    return min(x, axis, keepdim).indices;
}

Tensor logsumexp(const Tensor& x_in, const Axes& axes_in, bool keepdim) {
    const Tensor x = autocast_float(x_in);
    check_floating("logsumexp", x);
    const Axes axes = normalize_axes(axes_in, x.dim(), "logsumexp");
    // lse(x) = m + log(sum(exp(x - m))) with m = max(x). m is a constant for the gradient (it
    // cancels exactly), and an infinite m (all -inf) is replaced by 0 to avoid inf - inf.
    Tensor m;
    {
        NoGradGuard no_grad;
        m = amax(x, axes, true);
        m = where(isfinite(m), m, 0.0);
    }
    Tensor y = add(log(sum(exp(sub(x, m)), axes, true)), m);
    return keepdim ? y : reshape(y, reduced_shape(x.shape(), axes, false));
}

Tensor cumsum(const Tensor& x, int64_t axis_in) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "cumsum");
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    auto run = [](const Tensor& out, const Tensor& in, int64_t ax, bool reverse) {
        switch (backend_of("cumsum", {in})) {
            case DeviceType::CPU: cpu::cumsum(out, in, ax, reverse); break;
            case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::cumsum(out, in, ax, reverse)); break;
        }
    };
    run(y, x, axis, false);
    if (any_requires_grad({x})) {
        // y_j = sum_{i <= j} x_i  =>  dL/dx_i = sum_{j >= i} dL/dy_j: a reversed running sum.
        record_op("cumsum", {x}, {y}, [axis, run](const TensorList& g, const GradMask&) {
            Tensor gx = empty_like(g[0]);
            run(gx, g[0], axis, true);
            return TensorList{gx};
        });
    }
    return y;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    const int64_t lead = x.dim() - int64_t(shape.size());
    WSOL_CHECK(lead >= 0, "sum_to: cannot sum ", shape_str(x.shape()), " to the larger shape ", shape_str(shape));
    Axes axes;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (d < lead) {
            axes.push_back(d);
        } else if (shape[size_t(d - lead)] == 1 && x.shape()[size_t(d)] != 1) {
            axes.push_back(d);
        } else {
            WSOL_CHECK(shape[size_t(d - lead)] == x.shape()[size_t(d)], "sum_to: ", shape_str(x.shape()),
                       " was not broadcast from ", shape_str(shape));
        }
    }
    if (axes.empty()) return reshape(x, shape);
    return reshape(sum(x, axes, true), shape);
}

}  // namespace wsol
