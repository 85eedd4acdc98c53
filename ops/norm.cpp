// LayerNorm and BatchNorm: forward dispatch and backward formulas side by side (see ops/norm.h).
//
// Both forwards save what their fused backward needs (x, the per-row or per-channel mean and
// rstd = 1/sqrt(var + eps), and the weight) and compute every input gradient in one kernel call:
//   layer_norm:  x: (M, N) rows; mean, rstd: (M)
//                gx = rstd (g w - mean(g w) - xhat mean(g w xhat)),  gw = sum_rows(g xhat),  gb = sum_rows(g)
//   batch_norm:  x: (B, C, S); mean, rstd: (C)
//                training: gx = w rstd (g - mean(g) - xhat mean(g xhat))   (means over B and S)
//                eval:     gx = w rstd g
//                gw = sum(g xhat), gb = sum(g) over B and S
#include "ops/norm.h"

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/elementwise.h"
#include "ops/cpu/norm.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/norm.h"
#endif

namespace wsol {

namespace {

// Checks an optional per-feature parameter: undefined, or `shape` with x's dtype and device.
void check_param(const char* op, const char* what, const Tensor& p, const Shape& shape, const Tensor& x) {
    if (!p.defined()) return;
    WSOL_CHECK(p.shape() == shape, op, ": ", what, " has shape ", shape_str(p.shape()), ", expected ",
               shape_str(shape));
    WSOL_CHECK(p.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(p.dtype()), " but the input is ",
               dtype_name(x.dtype()));
}

// A contiguous, detached copy (or the tensor itself) seen as `shape`; undefined stays undefined.
Tensor rows_view(const Tensor& t, const Shape& shape) {
    if (!t.defined()) return t;
    const Tensor c = contiguous(t).detach();
    return c.as_strided(shape, contiguous_strides(shape), c.offset());
}

// The dtype of the saved statistics (mean, rstd, var): float32 for 16-bit inputs, so the backward
// pass works from unrounded statistics (the CUDA kernels' contract); x's dtype otherwise.
DType stats_dtype(const Tensor& x) { return x.dtype() == kBFloat16 || x.dtype() == kFloat16 ? kFloat32 : x.dtype(); }

Tensor empty_if(bool needed, const Shape& shape, const Tensor& like) {
    return needed ? Tensor::empty(shape, like.dtype(), like.device()) : Tensor();
}

}  // namespace

// ---- LayerNorm -----------------------------------------------------------------------------------

namespace {

// The checks of layer_norm's arguments (x already autocast); returns the row count M and width N.
std::pair<int64_t, int64_t> layer_norm_rows(const char* op, const Tensor& x, const Shape& normalized_shape,
                                            const Tensor& weight, const Tensor& bias, double eps) {
    check_floating(op, x);
    const int64_t k = int64_t(normalized_shape.size());
    WSOL_CHECK(k >= 1, op, ": normalized_shape must have at least one axis");
    bool suffix = x.dim() >= k;
    for (int64_t d = 0; suffix && d < k; ++d) suffix = x.shape()[size_t(x.dim() - k + d)] == normalized_shape[size_t(d)];
    WSOL_CHECK(suffix, op, ": input of shape ", shape_str(x.shape()), " does not end with normalized_shape ",
               shape_str(normalized_shape));
    check_param(op, "weight", weight, normalized_shape, x);
    check_param(op, "bias", bias, normalized_shape, x);
    WSOL_CHECK(eps >= 0.0, op, ": eps must be non-negative, got ", eps);
    // x: (..., *normalized_shape) -> (M, N) rows; mean, rstd: (M)
    const int64_t n = shape_numel(normalized_shape);
    return {n == 0 ? 0 : x.numel() / n, n};
}

// The layer_norm node: x2 is the (M, N) contiguous view of x that the forward normalised.
void record_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y, const Tensor& x2,
                       const Tensor& w, const Tensor& mean, const Tensor& rstd, const Shape& normalized_shape) {
    record_op("layer_norm", {x, weight, bias}, {y},
              [x2, w, mean, rstd, x_shape = x.shape(), p_shape = normalized_shape](const TensorList& g,
                                                                                   const GradMask& need) {
                  const Tensor g2 = rows_view(g[0], x2.shape());
                  Tensor gx = empty_if(need[0], x_shape, x2);
                  Tensor gw = empty_if(need[1], p_shape, x2);
                  Tensor gb = empty_if(need[2], p_shape, x2);
                  const Shape rows = x2.shape(), feat = {rows[1]};
                  const Tensor gx2 = gx.defined() ? gx.as_strided(rows, contiguous_strides(rows), 0) : gx;
                  const Tensor gw1 = gw.defined() ? gw.as_strided(feat, {1}, 0) : gw;
                  const Tensor gb1 = gb.defined() ? gb.as_strided(feat, {1}, 0) : gb;
                  switch (backend_of("layer_norm", {g2, x2})) {
                      case DeviceType::CPU: cpu::layer_norm_backward(gx2, gw1, gb1, g2, x2, mean, rstd, w); break;
                      case DeviceType::CUDA:
                          WSOL_CUDA_ONLY(cuda::layer_norm_backward(gx2, gw1, gb1, g2, x2, mean, rstd, w));
                          break;
                  }
                  return TensorList{gx, gw, gb};
              });
}

}  // namespace

Tensor layer_norm(const Tensor& x_in, const Shape& normalized_shape, const Tensor& weight_in, const Tensor& bias_in,
                  double eps) {
    WSOL_CHECK(x_in.defined(), "layer_norm: undefined input");
    // bf16 autocast: normalised in float32, returned in float32.
    const Tensor x = autocast_float(x_in), weight = autocast_float(weight_in), bias = autocast_float(bias_in);
    const auto [m, n] = layer_norm_rows("layer_norm", x, normalized_shape, weight, bias, eps);
    const Tensor x2 = rows_view(x, {m, n});
    const Tensor w = rows_view(weight, {n});
    const Tensor b = rows_view(bias, {n});
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    Tensor mean = Tensor::empty({m}, stats_dtype(x), x.device());
    Tensor rstd = Tensor::empty({m}, stats_dtype(x), x.device());
    const Tensor y2 = y.as_strided({m, n}, {n, 1}, 0);
    switch (backend_of("layer_norm", {x2, w, b})) {
        case DeviceType::CPU: cpu::layer_norm(y2, mean, rstd, x2, w, b, eps); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::layer_norm(y2, mean, rstd, x2, w, b, eps)); break;
    }
    if (any_requires_grad({x, weight, bias})) record_layer_norm(x, weight, bias, y, x2, w, mean, rstd, normalized_shape);
    return y;
}

AddLayerNorm add_layer_norm(const Tensor& x_in, const Tensor& residual_in, const Shape& normalized_shape,
                            const Tensor& weight_in, const Tensor& bias_in, double eps) {
    WSOL_CHECK(x_in.defined() && residual_in.defined(), "add_layer_norm: undefined input");
    const Tensor x = autocast_float(x_in), residual = autocast_float(residual_in);
    const Tensor weight = autocast_float(weight_in), bias = autocast_float(bias_in);
    WSOL_CHECK(residual.shape() == x.shape(), "add_layer_norm: residual of shape ", shape_str(residual.shape()),
               " for an input of shape ", shape_str(x.shape()), " (no broadcasting)");
    WSOL_CHECK(residual.dtype() == x.dtype(), "add_layer_norm: residual is ", dtype_name(residual.dtype()),
               " but the input is ", dtype_name(x.dtype()));
    const auto [m, n] = layer_norm_rows("add_layer_norm", x, normalized_shape, weight, bias, eps);
    const Tensor x2 = rows_view(x, {m, n});
    const Tensor r2 = rows_view(residual, {m, n});
    const Tensor w = rows_view(weight, {n});
    const Tensor b = rows_view(bias, {n});
    AddLayerNorm out{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), x.dtype(), x.device())};
    Tensor mean = Tensor::empty({m}, stats_dtype(x), x.device());
    Tensor rstd = Tensor::empty({m}, stats_dtype(x), x.device());
    const Tensor h2 = out.sum.as_strided({m, n}, {n, 1}, 0);
    const Tensor y2 = out.normed.as_strided({m, n}, {n, 1}, 0);
    switch (backend_of("add_layer_norm", {x2, r2, w, b})) {
        case DeviceType::CPU:
            cpu::binary(BinaryOp::Add, h2, x2, r2);
            cpu::layer_norm(y2, mean, rstd, h2, w, b, eps);
            break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::add_layer_norm(h2, y2, mean, rstd, x2, r2, w, b, eps)); break;
    }
    if (any_requires_grad({x, residual})) {
        record_op("add", {x, residual}, {out.sum}, [](const TensorList& g, const GradMask& need) {
            return TensorList{need[0] ? g[0] : Tensor(), need[1] ? g[0] : Tensor()};
        });
    }
    if (any_requires_grad({out.sum, weight, bias})) {
        record_layer_norm(out.sum, weight, bias, out.normed, h2.detach(), w, mean, rstd, normalized_shape);
    }
    return out;
}

// ---- BatchNorm -----------------------------------------------------------------------------------

Tensor batch_norm(const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight_in,
                  const Tensor& bias_in, bool training, double momentum, double eps) {
    WSOL_CHECK(x_in.defined(), "batch_norm: undefined input");
    // bf16 autocast: normalised in float32 (the running statistics are buffers and keep their dtype).
    const Tensor x = autocast_float(x_in), weight = autocast_float(weight_in), bias = autocast_float(bias_in);
    check_floating("batch_norm", x);
    WSOL_CHECK(x.dim() >= 2, "batch_norm: expected input of shape (N, C, ...), got ", shape_str(x.shape()));
    const int64_t channels = x.shape()[1];
    check_param("batch_norm", "running_mean", running_mean, {channels}, x);
    check_param("batch_norm", "running_var", running_var, {channels}, x);
    check_param("batch_norm", "weight", weight, {channels}, x);
    check_param("batch_norm", "bias", bias, {channels}, x);
    WSOL_CHECK(running_mean.defined() == running_var.defined(),
               "batch_norm: give both running_mean and running_var, or neither");
    WSOL_CHECK(training || running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var");
    WSOL_CHECK(eps >= 0.0, "batch_norm: eps must be non-negative, got ", eps);

    // x: (B, C, ...) -> (B, C, S); mean, rstd: (C)
    const int64_t batch = x.shape()[0];
    const int64_t spatial = channels == 0 || batch == 0 ? 0 : x.numel() / (batch * channels);
    const int64_t count = batch * spatial;  // values per channel
    const Tensor x3 = rows_view(x, {batch, channels, spatial});
    const Tensor w = rows_view(weight, {channels});
    const Tensor b = rows_view(bias, {channels});
    const DeviceType backend = backend_of("batch_norm", {x3, running_mean, running_var, w, b});
    Tensor mean, rstd;
    {
        NoGradGuard no_grad;  // statistics are constants of the graph or recomputed in backward
        if (training) {
            WSOL_CHECK(count > 1, "batch_norm: expected more than 1 value per channel when training, got input of "
                       "shape ", shape_str(x.shape()));
            mean = Tensor::empty({channels}, stats_dtype(x), x.device());
            Tensor var = Tensor::empty({channels}, stats_dtype(x), x.device());
            switch (backend) {
                case DeviceType::CPU: cpu::batch_norm_stats(mean, var, x3); break;
                case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::batch_norm_stats(mean, var, x3)); break;
            }
            rstd = rsqrt(add(var, eps));
            if (running_mean.defined()) {
                WSOL_CHECK(!running_mean.requires_grad() && !running_var.requires_grad(),
                           "batch_norm: running statistics are buffers and must not require grad");
                const double unbias = double(count) / double(count - 1);
                const Tensor batch_mean = to(mean, running_mean.dtype()), batch_var = to(var, running_var.dtype());
                copy_into(running_mean, add(mul(running_mean, 1.0 - momentum), mul(batch_mean, momentum)));
                copy_into(running_var, add(mul(running_var, 1.0 - momentum), mul(batch_var, momentum * unbias)));
                running_mean.storage()->bump_version();
                running_var.storage()->bump_version();
            }
        } else {
            // A copy: later updates must not reach saved values.
            mean = clone(to(running_mean, stats_dtype(x))).detach();
            rstd = rsqrt(add(to(running_var, stats_dtype(x)), eps));
        }
    }
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    const Tensor y3 = y.as_strided(x3.shape(), contiguous_strides(x3.shape()), 0);
    switch (backend) {
        case DeviceType::CPU: cpu::batch_norm_apply(y3, x3, mean, rstd, w, b); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::batch_norm_apply(y3, x3, mean, rstd, w, b)); break;
    }
    if (any_requires_grad({x, weight, bias})) {
        record_op("batch_norm", {x, weight, bias}, {y},
                  [x3, w, mean, rstd, training, x_shape = x.shape()](const TensorList& g, const GradMask& need) {
                      const Tensor g3 = rows_view(g[0], x3.shape());
                      const Shape feat = {x3.shape()[1]};
                      Tensor gx = empty_if(need[0], x_shape, x3);
                      Tensor gw = empty_if(need[1], feat, x3);
                      Tensor gb = empty_if(need[2], feat, x3);
                      const Tensor gx3 = gx.defined() ? gx.as_strided(x3.shape(), contiguous_strides(x3.shape()), 0) : gx;
                      switch (backend_of("batch_norm", {g3, x3})) {
                          case DeviceType::CPU:
                              cpu::batch_norm_backward(gx3, gw, gb, g3, x3, mean, rstd, w, training);
                              break;
                          case DeviceType::CUDA:
                              WSOL_CUDA_ONLY(cuda::batch_norm_backward(gx3, gw, gb, g3, x3, mean, rstd, w, training));
                              break;
                      }
                      return TensorList{gx, gw, gb};
                  });
    }
    return y;
}

}  // namespace wsol
