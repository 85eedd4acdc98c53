#include "engine/tensor.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>

#if WSOL_CUDA
#include "engine/cuda/memory.h"
#endif

namespace wsol {

namespace {
const std::shared_ptr<Node> kNoNode;
}

const TensorImpl& Tensor::checked_impl() const {
    WSOL_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
}

// ---- factories -----------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t s : shape) WSOL_CHECK(s >= 0, "Tensor::empty: negative size in shape ", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = Storage::allocate(size_t(shape_numel(shape)) * dtype_size(dtype), device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    const size_t nbytes = t.storage()->nbytes();
    if (device.is_cpu()) {
        std::memset(t.raw_data(), 0, nbytes);
    } else {
#if WSOL_CUDA
        cuda::memset_zero(t.raw_data(), nbytes, device.index);
#endif
    }
    return t;
}

Tensor Tensor::from_host(const void* data, const Shape& shape, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    const size_t nbytes = size_t(t.numel()) * dtype_size(dtype);
    if (nbytes == 0) return t;
    if (device.is_cpu()) {
        std::memcpy(t.raw_data(), data, nbytes);
    } else {
#if WSOL_CUDA
        cuda::memcpy_host_to_device(t.raw_data(), data, nbytes, device.index);
#endif
    }
    return t;
}

// ---- metadata ------------------------------------------------------------------------------

const Shape& Tensor::shape() const { return checked_impl().shape; }
const Strides& Tensor::strides() const { return checked_impl().strides; }
int64_t Tensor::offset() const { return checked_impl().offset; }
int64_t Tensor::dim() const { return int64_t(checked_impl().shape.size()); }
int64_t Tensor::size(int64_t axis) const { return shape()[size_t(wrap_axis(axis, dim(), "Tensor::size"))]; }
int64_t Tensor::stride(int64_t axis) const { return strides()[size_t(wrap_axis(axis, dim(), "Tensor::stride"))]; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return checked_impl().dtype; }
Device Tensor::device() const { return checked_impl().storage->device(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked_impl().storage; }

bool Tensor::is_contiguous() const {
    const TensorImpl& t = checked_impl();
    int64_t expected = 1;
    for (size_t i = t.shape.size(); i-- > 0;) {
        if (t.shape[i] == 1) continue;
        if (t.strides[i] != expected) return false;
        expected *= t.shape[i];
    }
    return true;
}

void* Tensor::raw_data() const {
    const TensorImpl& t = checked_impl();
    return static_cast<char*>(t.storage->data()) + t.offset * int64_t(dtype_size(t.dtype));
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
    const TensorImpl& t = checked_impl();
    WSOL_CHECK(shape.size() == strides.size(), "as_strided: shape ", shape_str(shape), " and strides ",
               shape_str(strides), " have different lengths");
    // The view must stay inside the storage: check its lowest and highest reachable element.
    int64_t lo = offset, hi = offset;
    bool empty_view = false;
    for (size_t i = 0; i < shape.size(); ++i) {
        WSOL_CHECK(shape[i] >= 0, "as_strided: negative size in shape ", shape_str(shape));
        if (shape[i] == 0) empty_view = true;
        const int64_t reach = (shape[i] - 1) * strides[i];
        (reach < 0 ? lo : hi) += reach;
    }
    const int64_t capacity = int64_t(t.storage->nbytes() / dtype_size(t.dtype));
    WSOL_CHECK(empty_view || (lo >= 0 && hi < capacity), "as_strided: view ", shape_str(shape), " with strides ",
               shape_str(strides), " at offset ", offset, " reaches outside a storage of ", capacity, " elements");
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage;
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = t.dtype;
    return Tensor(std::move(impl));
}

// ---- autograd state ------------------------------------------------------------------------

bool Tensor::requires_grad() const {
    const TensorImpl& t = checked_impl();
    return t.autograd && (t.autograd->requires_grad || t.autograd->grad_fn);
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
    checked_impl();
    WSOL_CHECK(!requires_grad || is_floating(dtype()), "set_requires_grad: only floating-point tensors can require "
               "gradients, this one is ", dtype_name(dtype()));
    WSOL_CHECK(is_leaf(), "set_requires_grad: the tensor was produced by an op (", "a non-leaf); call detach() "
               "first to make a new leaf");
    impl_->autograd_meta().requires_grad = requires_grad;
    return *this;
}

bool Tensor::is_leaf() const {
    const TensorImpl& t = checked_impl();
    return !t.autograd || !t.autograd->grad_fn;
}

Tensor Tensor::grad() const {
    const TensorImpl& t = checked_impl();
    return t.autograd ? t.autograd->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
    checked_impl();
    if (grad.defined()) {
        WSOL_CHECK(grad.shape() == shape(), "set_grad: gradient of shape ", shape_str(grad.shape()),
                   " for a tensor of shape ", shape_str(shape()));
    }
    impl_->autograd_meta().grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
    const TensorImpl& t = checked_impl();
    return t.autograd ? t.autograd->grad_fn : kNoNode;
}

uint32_t Tensor::output_nr() const {
    const TensorImpl& t = checked_impl();
    return t.autograd ? t.autograd->output_nr : 0;
}

Tensor Tensor::detach() const {
    const TensorImpl& t = checked_impl();
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage;
    impl->shape = t.shape;
    impl->strides = t.strides;
    impl->offset = t.offset;
    impl->dtype = t.dtype;
    return Tensor(std::move(impl));
}

void Tensor::set_data(const Tensor& source) const {
    checked_impl();
    WSOL_CHECK(source.defined(), "set_data: undefined source");
    WSOL_CHECK(is_leaf(), "set_data: only leaf tensors (parameters, buffers) can have their data replaced");
    TensorImpl& t = *impl_;
    const TensorImpl& s = *source.impl();
    const bool same_geometry = t.shape == s.shape && t.dtype == s.dtype && t.storage->device() == s.storage->device();
    t.storage = s.storage;
    t.shape = s.shape;
    t.strides = s.strides;
    t.offset = s.offset;
    t.dtype = s.dtype;
    if (t.autograd && !same_geometry) t.autograd->grad = Tensor();
}

// ---- printing ------------------------------------------------------------------------------

namespace {

// Prints like PyTorch: nested brackets, 4 decimals for floats, "..." past 1000 elements.
void print_values(std::string& out, const std::vector<double>& values, const Shape& shape, size_t axis,
                  int64_t base, bool floating, bool summarize, int indent) {
    const Strides strides = contiguous_strides(shape);
    if (axis == shape.size()) {
        char buf[64];
        const double v = values[size_t(base)];
        if (floating) {
            std::snprintf(buf, sizeof buf, std::isfinite(v) && std::fabs(v) >= 1e5 ? "%.4e" : "%.4f", v);
        } else {
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
        }
        out += buf;
        return;
    }
    out += "[";
    const int64_t n = shape[axis];
    for (int64_t i = 0; i < n; ++i) {
        if (summarize && n > 6 && i == 3) {
            out += axis + 1 == shape.size() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' ');
            i = n - 3;
        }
        print_values(out, values, shape, axis + 1, base + i * strides[axis], floating, summarize, indent + 1);
        if (i + 1 < n) out += axis + 1 == shape.size() ? ", " : ",\n" + std::string(size_t(indent + 1), ' ');
    }
    out += "]";
}

}  // namespace

std::string Tensor::str() const {
    if (!defined()) return "tensor(undefined)";
    std::string out = "tensor(";
    const std::vector<double> values = to_vector<double>();
    print_values(out, values, shape(), 0, 0, is_floating(dtype()), numel() > 1000, 7);
    if (dtype() != kFloat32 && dtype() != kInt64) out += std::string(", dtype=") + dtype_name(dtype());
    if (!device().is_cpu()) out += ", device='" + device().str() + "'";
    if (requires_grad()) out += ", requires_grad=True";
    return out + ")";
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) { return out << tensor.str(); }

}  // namespace wsol
