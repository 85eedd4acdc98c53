// CUDA dropout kernel (ops/cuda/dropout.h): y = x * (mask * scale) through the elementwise loops
// (engine/cuda/loops.cuh: 16-byte vectors when x and the mask are contiguous, the strided path for
// drop_path's broadcast mask). The same product as the CPU, in the same order, so float32 and
// float64 results are identical to the CPU's; a multiplication rather than a select, so that a
// dropped inf or NaN still gives NaN (as PyTorch's x * mask does).
#include "ops/cuda/dropout.h"

#include "engine/cuda/loops.cuh"
#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

template <class C>
struct MaskedScale {
    C scale;
    __device__ C operator()(C x, uint8_t keep) const { return x * (C(keep) * scale); }
};

}  // namespace

void masked_scale(const Tensor& out, const Tensor& x, const Tensor& mask, double scale) {
    WSOL_CHECK(mask.dtype() == kUInt8, "dropout: mask must be uint8, got ", dtype_name(mask.dtype()));
    dispatch_floating_device(x.dtype(), "dropout", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        // The scale rounded to x's precision first, as the CPU does (T(scale)); bf16 computes in float.
        launch_binary<T, T, uint8_t>("dropout", out, x, mask, MaskedScale<C>{C(scale)});
    });
}

}  // namespace wsol::cuda
