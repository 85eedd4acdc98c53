#include "ops/optim.h"

#include "ops/cpu/optim.h"
#include "ops/dispatch.h"
#if WSOL_CUDA
#include "ops/cuda/optim.h"
#endif

namespace wsol {

void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const AdamWHyper& hyper) {
    for (const Tensor* t : {&grad, &exp_avg, &exp_avg_sq}) {
        WSOL_CHECK(t->shape() == param.shape() && t->dtype() == param.dtype(), "adamw_update_: parameter ",
                   shape_str(param.shape()), " ", dtype_name(param.dtype()), " and state ", shape_str(t->shape()), " ",
                   dtype_name(t->dtype()), " disagree");
    }
    for (const Tensor* t : {&param, &grad, &exp_avg, &exp_avg_sq}) {
        WSOL_CHECK(t->is_contiguous(), "adamw_update_: all tensors must be contiguous");
    }
    WSOL_CHECK(hyper.step >= 1, "adamw_update_: step must be >= 1, got ", hyper.step);
    for (const Tensor* t : {&param, &exp_avg, &exp_avg_sq}) t->storage()->bump_version();
    switch (backend_of("adamw_update_", {param, grad, exp_avg, exp_avg_sq})) {
        case DeviceType::CPU: cpu::adamw_update(param, grad, exp_avg, exp_avg_sq, hyper); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::adamw_update(param, grad, exp_avg, exp_avg_sq, hyper)); break;
    }
}

}  // namespace wsol
