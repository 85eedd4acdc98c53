// interpolate: checks, forward dispatch and backward (see ops/interpolate.h for the rules).
#include "ops/interpolate.h"

#include "autograd/node.h"
#include "ops/cpu/interpolate.h"
#include "ops/dispatch.h"
#if WSOL_CUDA
#include "ops/cuda/interpolate.h"
#endif

namespace wsol {

const char* interp_mode_name(InterpMode mode) {
    switch (mode) {
        case InterpMode::Nearest: return "nearest";
        case InterpMode::Bilinear: return "bilinear";
        case InterpMode::Bicubic: return "bicubic";
    }
    return "unknown";
}

namespace {

Tensor dense(const Tensor& x) {
    if (x.is_contiguous()) return x.detach();
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(out, x);
    return out;
}

}  // namespace

Tensor interpolate(const Tensor& x, Size2 size, InterpMode mode, bool align_corners) {
    WSOL_CHECK(x.defined(), "interpolate: undefined input");
    WSOL_CHECK(x.dim() == 4, "interpolate: expected input (N, C, H, W), got ", shape_str(x.shape()));
    check_floating("interpolate", x);
    WSOL_CHECK(size[0] >= 1 && size[1] >= 1, "interpolate: output size must be positive, got (", size[0], ", ", size[1],
               ")");
    WSOL_CHECK(x.size(2) >= 1 && x.size(3) >= 1, "interpolate: input ", shape_str(x.shape()),
               " has an empty spatial dimension");
    WSOL_CHECK(!(align_corners && mode == InterpMode::Nearest),
               "interpolate: align_corners is only defined for the bilinear and bicubic modes, not nearest");
    Tensor y = Tensor::empty({x.size(0), x.size(1), size[0], size[1]}, x.dtype(), x.device());
    switch (backend_of("interpolate", {x})) {
        case DeviceType::CPU: cpu::interpolate(y, dense(x), mode, align_corners); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::interpolate(y, dense(x), mode, align_corners)); break;
    }
    if (any_requires_grad({x})) {
        record_op("interpolate", {x}, {y},
                  [shape = x.shape(), mode, align_corners](const TensorList& g, const GradMask&) {
                      Tensor gx = Tensor::empty(shape, g[0].dtype(), g[0].device());
                      switch (backend_of("interpolate backward", {g[0]})) {
                          case DeviceType::CPU: cpu::interpolate_grad(gx, dense(g[0]), mode, align_corners); break;
                          case DeviceType::CUDA:
                              WSOL_CUDA_ONLY(cuda::interpolate_grad(gx, dense(g[0]), mode, align_corners));
                              break;
                      }
                      return TensorList{gx};
                  });
    }
    return y;
}

}  // namespace wsol
