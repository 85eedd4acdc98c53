// Tensor: a typed, shaped, strided view into a Storage, plus the little autograd state it carries.
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl. Copying a Tensor copies the handle,
// not the data: `Tensor b = a;` makes b and a the same tensor. The impl holds
//   storage  - the shared memory block (engine/storage.h),
//   shape    - sizes per axis, outermost first,
//   strides  - how many *elements* to step in storage for +1 along each axis,
//   offset   - where element (0,0,...) sits in storage, in elements,
//   dtype    - the element type,
// so element (i, j, k) lives at storage + offset + i*strides[0] + j*strides[1] + k*strides[2].
// A transpose swaps two strides, a slice moves the offset, an expand sets a stride to 0: none of
// them touch the data. That is why views are free, and why an op that wants plain rows first asks
// for contiguous().
//
// This header is the *engine* level: metadata, raw memory access and factories. The differentiable
// operations on tensors (add, matmul, reshape, permute, contiguous, to(dtype), ...) are free
// functions in ops/ (`#include "ops/ops.h"`), because they must record themselves for autograd,
// which lives one layer up.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace wsol {

class Node;  // autograd/node.h: one recorded operation of the backward graph
struct TensorImpl;
struct AutogradMeta;

class Tensor {
public:
    Tensor() = default;  // an undefined tensor (like a null pointer); defined() is false
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // ---- factories -------------------------------------------------------------------------
    // Uninitialised memory, contiguous.
    static Tensor empty(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
    // All bytes zero (0, 0.0, false for every dtype).
    static Tensor zeros(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
    // Copies host values into a new tensor of dtype_of<T> on `device`.
    template <class T>
    static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = kCPU);
    // A 0-dimensional tensor holding one value.
    template <class T>
    static Tensor scalar(T value, Device device = kCPU) {
        return from_vector<T>(std::vector<T>{value}, Shape{}, device);
    }
    // Copies `count` raw elements of `dtype` from host memory.
    static Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device = kCPU);

    // ---- metadata --------------------------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    const Strides& strides() const;
    int64_t offset() const;
    int64_t dim() const;
    int64_t size(int64_t axis) const;    // negative axes count from the end
    int64_t stride(int64_t axis) const;
    int64_t numel() const;
    DType dtype() const;
    Device device() const;
    bool is_cuda() const { return device().is_cuda(); }
    bool is_contiguous() const;           // row-major with no gaps (size-1 axes may have any stride)
    size_t element_size() const { return dtype_size(dtype()); }
    const std::shared_ptr<Storage>& storage() const;

    // ---- raw data access (no autograd) -----------------------------------------------------
    // Pointer to element (0,...,0). The typed form checks that T matches the dtype.
    void* raw_data() const;
    template <class T>
    T* data() const {
        WSOL_CHECK(dtype() == dtype_of<T>, "Tensor::data<", dtype_name(dtype_of<T>), ">() on a ", dtype_name(dtype()),
                   " tensor");
        return static_cast<T*>(raw_data());
    }
    // A view with the given geometry over the same storage; checks it stays inside the storage.
    Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;
    // Host copy of all elements in row-major order, converted to T (any source dtype or device).
    template <class T>
    std::vector<T> to_vector() const;
    // The value of a one-element tensor, converted to T.
    template <class T>
    T item() const;

    // ---- autograd state --------------------------------------------------------------------
    bool requires_grad() const;
    // Marks a leaf as a parameter/input to differentiate. Only floating tensors may require grad.
    Tensor& set_requires_grad(bool requires_grad);
    bool is_leaf() const;                 // not produced by a recorded op
    Tensor grad() const;                  // accumulated gradient of a leaf (undefined until backward)
    void set_grad(const Tensor& grad) const;
    const std::shared_ptr<Node>& grad_fn() const;  // the op that produced this tensor, if recorded
    uint32_t output_nr() const;                    // which output of grad_fn this tensor is
    // Same data, no autograd history: gradients will not flow through the result.
    Tensor detach() const;
    // Makes this tensor (every handle to it) refer to `source`'s storage, shape, strides and dtype,
    // keeping its autograd identity (requires_grad, and .grad when the shape still matches). This
    // is how Module::to(device) moves parameters without invalidating the handles layers hold.
    void set_data(const Tensor& source) const;

    // ---- misc ------------------------------------------------------------------------------
    // PyTorch-like text: "tensor([[1.0000, 2.0000], ...], dtype=float64)".
    std::string str() const;
    // Same impl (not same values).
    bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

private:
    const TensorImpl& checked_impl() const;
    std::shared_ptr<TensorImpl> impl_;
};

// Per-tensor autograd state, created only for tensors that take part in differentiation.
struct AutogradMeta {
    bool requires_grad = false;
    Tensor grad;                              // leaves only: the accumulated gradient
    std::shared_ptr<Node> grad_fn;            // non-leaves: the op that produced the tensor
    uint32_t output_nr = 0;                   // index among grad_fn's outputs
    std::weak_ptr<Node> grad_accumulator;     // leaves: the node that adds into `grad` (cached)
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Strides strides;
    int64_t offset = 0;
    DType dtype = kFloat32;
    std::unique_ptr<AutogradMeta> autograd;  // null for plain data tensors

    AutogradMeta& autograd_meta() {
        if (!autograd) autograd = std::make_unique<AutogradMeta>();
        return *autograd;
    }
};

std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// Raw element copy: dst[i] = cast(src[i]) over dst's shape. src must have dst's shape or broadcast
// to it; dtypes may differ (values are converted); devices may differ (host <-> device transfer).
// No autograd. Used by contiguous(), to(dtype), to(device) and the factories.
void copy_into(const Tensor& dst, const Tensor& src);

// Raw dst += src for two floating tensors of the same shape, dtype and device. The one piece of
// arithmetic the backward pass itself needs: summing the gradients of a tensor used twice.
void add_into(const Tensor& dst, const Tensor& src);

// ---- template definitions --------------------------------------------------------------------

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
    WSOL_CHECK(int64_t(values.size()) == shape_numel(shape), "Tensor::from_vector: ", values.size(),
               " values for shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
    if constexpr (std::is_same_v<T, bool>) {
        std::vector<uint8_t> bytes(values.begin(), values.end());
        return from_host(bytes.data(), shape, kBool, device);
    } else {
        return from_host(values.data(), shape, dtype_of<T>, device);
    }
}

template <class T>
std::vector<T> Tensor::to_vector() const {
    Tensor host = Tensor::empty(shape(), dtype_of<T>, kCPU);
    copy_into(host, *this);
    const T* p = static_cast<const T*>(host.raw_data());
    return std::vector<T>(p, p + host.numel());
}

template <class T>
T Tensor::item() const {
    WSOL_CHECK(numel() == 1, "Tensor::item: tensor of shape ", shape_str(shape()), " has ", numel(),
               " elements, expected exactly one");
    return to_vector<T>()[0];
}

}  // namespace wsol
