// sort / argsort / topk: argument checks and dispatch (see ops/sort.h). No backward is recorded:
// the outputs are plain tensors.
#include "ops/sort.h"

#include <algorithm>

#include "ops/cpu/sort.h"
#include "ops/dispatch.h"
#if WSOL_CUDA
#include "ops/cuda/sort.h"
#endif

namespace wsol {

ValuesIndices sort(const Tensor& x, int64_t axis_in, bool descending) {
    WSOL_CHECK(x.defined(), "sort: undefined input");
    const int64_t axis = wrap_axis(axis_in, std::max<int64_t>(x.dim(), 1), "sort");
    ValuesIndices out{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), kInt64, x.device())};
    const Tensor xd = x.detach();
    switch (backend_of("sort", {xd})) {
        case DeviceType::CPU: cpu::sort(out.values, out.indices, xd, axis, descending); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::sort(out.values, out.indices, xd, axis, descending)); break;
    }
    return out;
}

Tensor argsort(const Tensor& x, int64_t axis, bool descending) { return sort(x, axis, descending).indices; }

ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis_in, bool largest, bool sorted) {
    WSOL_CHECK(x.defined(), "topk: undefined input");
    const int64_t axis = wrap_axis(axis_in, std::max<int64_t>(x.dim(), 1), "topk");
    const int64_t size = x.dim() == 0 ? 1 : x.shape()[size_t(axis)];
    WSOL_CHECK(x.dim() > 0 || k == 1, "topk: a 0-dim tensor has one element, so k must be 1, got ", k);
    WSOL_CHECK(k >= 0 && k <= size, "topk: k = ", k, " is out of range for axis ", axis, " of size ", size,
               " in a tensor of shape ", shape_str(x.shape()));
    Shape shape = x.shape();
    if (x.dim() > 0) shape[size_t(axis)] = k;
    ValuesIndices out{Tensor::empty(shape, x.dtype(), x.device()), Tensor::empty(shape, kInt64, x.device())};
    const Tensor xd = x.detach();
    switch (backend_of("topk", {xd})) {
        case DeviceType::CPU: cpu::topk(out.values, out.indices, xd, k, axis, largest, sorted); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::topk(out.values, out.indices, xd, k, axis, largest, sorted)); break;
    }
    return out;
}

}  // namespace wsol
