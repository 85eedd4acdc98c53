#include "ops/dispatch.h"

namespace wsol {

DeviceType backend_of(const char* op, std::initializer_list<Tensor> inputs) {
    const Tensor* first = nullptr;
    for (const Tensor& t : inputs) {
        if (!t.defined()) continue;
        if (!first) {
            first = &t;
            continue;
        }
        WSOL_CHECK(t.device() == first->device(), op, ": expected all tensors on one device, got ",
                   first->device().str(), " and ", t.device().str());
    }
    WSOL_CHECK(first != nullptr, op, ": no defined input tensor");
    return first->device().type;
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
    WSOL_CHECK(a.dtype() == b.dtype(), op, ": dtypes ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
               " differ (convert one with to(x, dtype))");
}

void check_floating(const char* op, const Tensor& x) {
    WSOL_CHECK(is_floating(x.dtype()), op, ": expected a floating-point tensor, got ", dtype_name(x.dtype()));
}

}  // namespace wsol
