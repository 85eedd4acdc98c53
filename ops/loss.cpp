// Losses: forward dispatch and backward formulas side by side (see ops/loss.h for the math).
//
// Each loss is one recorded op producing the unreduced losses (fused kernels, ops/cpu/loss.cpp),
// followed by the reduction as ordinary differentiable ops (sum, or sum / denominator), so the
// backward of a reduction is the usual broadcast and the loss's own backward sees the per-element
// gradient. The class-index losses divide by the weight sum of the non-ignored targets, a plain
// number computed with the target validation on the host. Under bf16 autocast every loss casts its
// bf16 CUDA inputs to float32 first and returns float32 (ops/autocast.h).
#include "ops/loss.h"


#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/loss.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/loss.h"
#endif

namespace wsol {

const char* reduction_name(Reduction reduction) {
    switch (reduction) {
        case Reduction::None: return "none";
        case Reduction::Mean: return "mean";
        case Reduction::Sum: return "sum";
    }
    return "reduction";
}

namespace {

// A tensor that is an argument but not a differentiable input of the loss.
void check_constant(const char* op, const char* what, const Tensor& t) {
    WSOL_CHECK(!(t.defined() && grad_enabled() && t.requires_grad()), op, ": ", what,
               " requires grad, but the gradient with respect to it is not implemented; pass ", what, ".detach()");
}

Tensor contiguous_as(const Tensor& t, const Shape& shape) {
    const Tensor c = contiguous(t).detach();
    return c.as_strided(shape, contiguous_strides(shape), c.offset());
}

// "(1, 2)" for flat index `flat` of `shape`.
std::string position_str(const Shape& shape, int64_t flat) {
    Shape index(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(index);
}

// ---- class-index losses -------------------------------------------------------------------------

struct ClassProblem {
    Tensor x;             // (N, C, S), contiguous, detached
    Tensor target;        // (N, S), int64, contiguous
    Tensor weight;        // (C) contiguous, or undefined
    Shape loss_shape;     // target's shape
    double weight_sum;    // sum of w[t] over the non-ignored targets: the Mean denominator
};

ClassProblem prepare_class_loss(const char* op, const Tensor& x, const Tensor& target, int64_t ignore_index,
                                const Tensor& class_weight) {
    WSOL_CHECK(x.defined() && target.defined(), op, ": undefined input or target");
    check_floating(op, x);
    WSOL_CHECK(target.dtype() == kInt64, op, ": target must hold int64 class indices, got ", dtype_name(target.dtype()));
    WSOL_CHECK(x.dim() >= 1, op, ": input must be (N, C, ...) or (C), got a 0-dim tensor");
    // (C) with a 0-dim target is one sample; otherwise the class axis is axis 1.
    const bool unbatched = x.dim() == 1;
    const int64_t classes = unbatched ? x.shape()[0] : x.shape()[1];
    Shape expected;
    if (!unbatched) {
        expected = x.shape();
        expected.erase(expected.begin() + 1);
    }
    WSOL_CHECK(target.shape() == expected, op, ": input of shape ", shape_str(x.shape()), " needs a target of shape ",
               shape_str(expected), ", got ", shape_str(target.shape()));
    if (class_weight.defined()) {
        WSOL_CHECK(class_weight.shape() == Shape{classes}, op, ": class_weight has shape ",
                   shape_str(class_weight.shape()), ", expected (", classes, ")");
        check_same_dtype(op, x, class_weight);
        check_constant(op, "class_weight", class_weight);
    }
    ClassProblem p;
    const int64_t batch = unbatched ? 1 : x.shape()[0];
    const int64_t spatial = classes == 0 || batch == 0 ? target.numel() / std::max<int64_t>(batch, 1)
                                                       : x.numel() / (batch * classes);
    p.x = contiguous_as(x, {batch, classes, spatial});
    p.target = contiguous_as(target, {batch, spatial});
    p.weight = class_weight.defined() ? contiguous(class_weight).detach() : Tensor();
    p.loss_shape = target.shape();
    // Validate every target and sum the weights of the counted ones (targets are small).
    const std::vector<int64_t> t = target.to_vector<int64_t>();
    const std::vector<double> w = class_weight.defined() ? class_weight.to_vector<double>() : std::vector<double>();
    p.weight_sum = 0.0;
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == ignore_index) continue;
        WSOL_CHECK(t[i] >= 0 && t[i] < classes, op, ": target ", t[i], " at position ",
                   position_str(target.shape(), int64_t(i)), " is out of range for ", classes,
                   " classes (expected 0..", classes - 1, " or ignore_index ", ignore_index, ")");
        p.weight_sum += w.empty() ? 1.0 : w[size_t(t[i])];
    }
    return p;
}

Tensor reduce_class_loss(const Tensor& loss, Reduction reduction, double weight_sum) {
    switch (reduction) {
        case Reduction::None: return loss;
        case Reduction::Sum: return sum(loss);
        case Reduction::Mean: return div(sum(loss), weight_sum);  // all ignored: 0 / 0 = NaN, as PyTorch
    }
    return loss;
}

// ---- elementwise losses -------------------------------------------------------------------------

Tensor reduce_pointwise(const Tensor& loss, Reduction reduction) {
    switch (reduction) {
        case Reduction::None: return loss;
        case Reduction::Sum: return sum(loss);
        case Reduction::Mean: return mean(loss);
    }
    return loss;
}

void check_broadcasts_to(const char* op, const char* what, const Tensor& t, const Tensor& input) {
    if (!t.defined()) return;
    check_same_dtype(op, input, t);
    check_constant(op, what, t);
    bool fits = t.dim() <= input.dim();
    for (int64_t d = 1; fits && d <= t.dim(); ++d) {
        const int64_t have = t.shape()[size_t(t.dim() - d)];
        fits = have == 1 || have == input.shape()[size_t(input.dim() - d)];
    }
    WSOL_CHECK(fits, op, ": ", what, " of shape ", shape_str(t.shape()), " does not broadcast to the input's shape ",
               shape_str(input.shape()));
}

Tensor pointwise_loss(const char* op, PointwiseLoss kind, const Tensor& input_in, const Tensor& target_in,
                      const Tensor& weight_in, const Tensor& pos_weight_in, Reduction reduction) {
    WSOL_CHECK(input_in.defined() && target_in.defined(), op, ": undefined input or target");
    const Tensor input = autocast_float(input_in), target = autocast_float(target_in);
    const Tensor weight = autocast_float(weight_in), pos_weight = autocast_float(pos_weight_in);
    check_floating(op, input);
    check_same_dtype(op, input, target);
    WSOL_CHECK(input.shape() == target.shape(), op, ": input of shape ", shape_str(input.shape()),
               " and target of shape ", shape_str(target.shape()), " differ (they must be equal)");
    check_broadcasts_to(op, "weight", weight, input);
    check_broadcasts_to(op, "pos_weight", pos_weight, input);
    const Tensor x = input.detach(), t = target.detach();
    const Tensor w = weight.defined() ? weight.detach() : Tensor();
    const Tensor pw = pos_weight.defined() ? pos_weight.detach() : Tensor();
    Tensor loss = Tensor::empty(input.shape(), input.dtype(), input.device());
    switch (backend_of(op, {x, t, w, pw})) {
        case DeviceType::CPU: cpu::pointwise_loss(kind, loss, x, t, w, pw); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::pointwise_loss(kind, loss, x, t, w, pw)); break;
    }
    if (any_requires_grad({input, target})) {
        record_op(op, {input, target}, {loss}, [op, kind, x, t, w, pw](const TensorList& g, const GradMask& need) {
            TensorList grads(2);
            for (int k = 0; k < 2; ++k) {
                if (!need[size_t(k)]) continue;
                grads[size_t(k)] = Tensor::empty(x.shape(), x.dtype(), x.device());
                switch (backend_of(op, {g[0], x})) {
                    case DeviceType::CPU:
                        cpu::pointwise_loss_backward(kind, k == 1, grads[size_t(k)], g[0], x, t, w, pw);
                        break;
                    case DeviceType::CUDA:
                        WSOL_CUDA_ONLY(cuda::pointwise_loss_backward(kind, k == 1, grads[size_t(k)], g[0], x, t, w, pw));
                        break;
                }
            }
            return grads;
        });
    }
    return reduce_pointwise(loss, reduction);
}

}  // namespace

// ---- cross-entropy and NLL ------------------------------------------------------------------------

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target, Reduction reduction, double label_smoothing,
                     int64_t ignore_index, const Tensor& class_weight_in) {
    const Tensor logits = autocast_float(logits_in), class_weight = autocast_float(class_weight_in);
    WSOL_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], "
               "got ", label_smoothing);
    const ClassProblem p = prepare_class_loss("cross_entropy", logits, target, ignore_index, class_weight);
    // x: (N, C, S) -> loss, lse: (N, S)
    const Shape positions = p.target.shape();
    Tensor loss = Tensor::empty(p.loss_shape, logits.dtype(), logits.device());
    // lse in float32 for 16-bit logits (the CUDA kernels' contract), the logits' dtype otherwise.
    const DType lse_dtype = logits.dtype() == kBFloat16 || logits.dtype() == kFloat16 ? kFloat32 : logits.dtype();
    Tensor lse = Tensor::empty(positions, lse_dtype, logits.device());
    const Tensor loss2 = loss.as_strided(positions, contiguous_strides(positions), 0);
    switch (backend_of("cross_entropy", {p.x, p.target, p.weight})) {
        case DeviceType::CPU:
            cpu::cross_entropy(loss2, lse, p.x, p.target, p.weight, label_smoothing, ignore_index);
            break;
        case DeviceType::CUDA:
            WSOL_CUDA_ONLY(cuda::cross_entropy(loss2, lse, p.x, p.target, p.weight, label_smoothing, ignore_index));
            break;
    }
    if (any_requires_grad({logits})) {
        record_op("cross_entropy", {logits}, {loss},
                  [p, lse, label_smoothing, ignore_index, shape = logits.shape()](const TensorList& g, const GradMask&) {
                      const Tensor g2 = contiguous_as(g[0], p.target.shape());
                      Tensor gx = Tensor::empty(shape, p.x.dtype(), p.x.device());
                      const Tensor gx3 = gx.as_strided(p.x.shape(), contiguous_strides(p.x.shape()), 0);
                      switch (backend_of("cross_entropy", {g2, p.x})) {
                          case DeviceType::CPU:
                              cpu::cross_entropy_backward(gx3, g2, p.x, lse, p.target, p.weight, label_smoothing,
                                                          ignore_index);
                              break;
                          case DeviceType::CUDA:
                              WSOL_CUDA_ONLY(cuda::cross_entropy_backward(gx3, g2, p.x, lse, p.target, p.weight,
                                                                          label_smoothing, ignore_index));
                              break;
                      }
                      return TensorList{gx};
                  });
    }
    return reduce_class_loss(loss, reduction, p.weight_sum);
}

Tensor nll_loss(const Tensor& log_probs_in, const Tensor& target, Reduction reduction, int64_t ignore_index,
                const Tensor& class_weight_in) {
    const Tensor log_probs = autocast_float(log_probs_in), class_weight = autocast_float(class_weight_in);
    const ClassProblem p = prepare_class_loss("nll_loss", log_probs, target, ignore_index, class_weight);
    const Shape positions = p.target.shape();
    Tensor loss = Tensor::empty(p.loss_shape, log_probs.dtype(), log_probs.device());
    const Tensor loss2 = loss.as_strided(positions, contiguous_strides(positions), 0);
    switch (backend_of("nll_loss", {p.x, p.target, p.weight})) {
        case DeviceType::CPU: cpu::nll_loss(loss2, p.x, p.target, p.weight, ignore_index); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::nll_loss(loss2, p.x, p.target, p.weight, ignore_index)); break;
    }
    if (any_requires_grad({log_probs})) {
        // gx[i, t_i] = -w[t_i] g_i, zero elsewhere
        record_op("nll_loss", {log_probs}, {loss},
                  [p, ignore_index, shape = log_probs.shape()](const TensorList& g, const GradMask&) {
                      const Tensor g2 = contiguous_as(g[0], p.target.shape());
                      Tensor gx = Tensor::empty(shape, p.x.dtype(), p.x.device());
                      const Tensor gx3 = gx.as_strided(p.x.shape(), contiguous_strides(p.x.shape()), 0);
                      switch (backend_of("nll_loss", {g2, p.x})) {
                          case DeviceType::CPU: cpu::nll_loss_backward(gx3, g2, p.target, p.weight, ignore_index); break;
                          case DeviceType::CUDA:
                              WSOL_CUDA_ONLY(cuda::nll_loss_backward(gx3, g2, p.target, p.weight, ignore_index));
                              break;
                      }
                      return TensorList{gx};
                  });
    }
    return reduce_class_loss(loss, reduction, p.weight_sum);
}

// ---- elementwise losses ---------------------------------------------------------------------------

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const Tensor& weight, Reduction reduction) {
    return pointwise_loss("binary_cross_entropy", PointwiseLoss::BinaryCrossEntropy, probs, target, weight,
                          Tensor(), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
    return pointwise_loss("binary_cross_entropy_with_logits", PointwiseLoss::BinaryCrossEntropyWithLogits, logits,
                          target, weight, pos_weight, reduction);
}

Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
    return pointwise_loss("mse_loss", PointwiseLoss::SquaredError, a, b, Tensor(), Tensor(), reduction);
}

Tensor l1_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
    return pointwise_loss("l1_loss", PointwiseLoss::AbsoluteError, a, b, Tensor(), Tensor(), reduction);
}

}  // namespace wsol
