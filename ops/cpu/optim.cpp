#include "ops/cpu/optim.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"

namespace wsol::cpu {

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamWHyper& h) {
    dispatch_floating(param.dtype(), "adamw_update_", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* p = param.data<T>();
        const T* g = grad.data<T>();
        T* m = exp_avg.data<T>();
        T* v = exp_avg_sq.data<T>();
        const int64_t n = param.numel();
        // The scalar parts of the update, computed once in double.
        const double bias1 = 1.0 - std::pow(h.beta1, double(h.step));
        const double bias2 = 1.0 - std::pow(h.beta2, double(h.step));
        // Written in the same order of operations as PyTorch's AdamW so that float rounding agrees:
        // the first moment is a lerp towards g, the denominator divides by sqrt(bias2).
        const T decay = T(1.0 - h.lr * h.weight_decay);
        const T step_size = T(h.lr / bias1);
        const T sqrt_bias2 = T(std::sqrt(bias2));
        const T b2 = T(h.beta2), one_b2 = T(1.0 - h.beta2), eps = T(h.eps);
        const T w = T(1.0 - h.beta1);  // lerp weight
#pragma omp parallel for schedule(static) if (n >= 2 * kParallelGrain)
        for (int64_t i = 0; i < n; ++i) {
            const T gi = g[i];
            const T mi = w < T(0.5) ? m[i] + w * (gi - m[i]) : gi - (gi - m[i]) * (T(1) - w);
            const T vi = v[i] * b2 + gi * gi * one_b2;
            m[i] = mi;
            v[i] = vi;
            const T pi = p[i] * decay;
            p[i] = pi + (-step_size) * (mi / (std::sqrt(vi) / sqrt_bias2 + eps));
        }
    });
}

}  // namespace wsol::cpu
