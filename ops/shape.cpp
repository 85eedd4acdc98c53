// Views and layout ops with their backward passes.
//
// A view's backward puts the gradient back into the input's geometry:
//   reshape/view/flatten/squeeze/unsqueeze - reshape the gradient back;
//   permute/transpose                      - apply the inverse permutation;
//   narrow/slice/select                    - a zero tensor of the input's shape with the gradient
//                                            written into the selected region;
//   expand                                 - sum over the broadcast axes (sum_to).
#include "ops/shape.h"

#include <optional>

#include "autograd/node.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace wsol {

namespace {

// Strides that let `new_shape` view memory laid out as (old_shape, old_strides), or nothing when
// no such strides exist. Old axes are grouped into runs that are contiguous with each other; each
// run must be tiled exactly by consecutive new axes (size-1 axes fit anywhere).
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape) {
    if (old_shape.empty() || shape_numel(old_shape) == 0) return contiguous_strides(new_shape);
    Strides out(new_shape.size(), 0);
    int64_t view_d = int64_t(new_shape.size()) - 1;
    int64_t chunk_base_stride = old_strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t tensor_d = int64_t(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
        tensor_numel *= old_shape[size_t(tensor_d)];
        const bool run_ends = tensor_d == 0 || (old_shape[size_t(tensor_d - 1)] != 1 &&
                                                old_strides[size_t(tensor_d - 1)] != tensor_numel * chunk_base_stride);
        if (!run_ends) continue;
        while (view_d >= 0 && (view_numel < tensor_numel || new_shape[size_t(view_d)] == 1)) {
            out[size_t(view_d)] = view_numel * chunk_base_stride;
            view_numel *= new_shape[size_t(view_d)];
            --view_d;
        }
        if (view_numel != tensor_numel) return std::nullopt;
        if (tensor_d > 0) {
            chunk_base_stride = old_strides[size_t(tensor_d - 1)];
            tensor_numel = 1;
            view_numel = 1;
        }
    }
    if (view_d != -1) return std::nullopt;
    return out;
}

// Resolves one -1 entry and checks the element count.
Shape infer_shape(const char* op, const Shape& from, const Shape& requested) {
    Shape shape = requested;
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            WSOL_CHECK(infer_at < 0, op, ": only one dimension of ", shape_str(requested), " can be -1");
            infer_at = int64_t(i);
        } else {
            WSOL_CHECK(shape[i] >= 0, op, ": negative size in ", shape_str(requested));
            known *= shape[i];
        }
    }
    const int64_t numel = shape_numel(from);
    if (infer_at >= 0) {
        WSOL_CHECK(known != 0 && numel % known == 0, op, ": cannot infer -1 in ", shape_str(requested), " for ",
                   shape_str(from), " (", numel, " elements)");
        shape[size_t(infer_at)] = numel / known;
    }
    WSOL_CHECK(shape_numel(shape) == numel, op, ": shape ", shape_str(requested), " has ", shape_numel(shape),
               " elements but the input ", shape_str(from), " has ", numel);
    return shape;
}

// A view of x recorded in the graph with the given backward.
Tensor make_view(const char* op, const Tensor& x, const Shape& shape, const Strides& strides, int64_t offset,
                 BackwardFn backward) {
    Tensor y = x.as_strided(shape, strides, offset);
    if (any_requires_grad({x})) record_op(op, {x}, {y}, std::move(backward));
    return y;
}

// Backward of narrow/slice/select: zeros shaped like the input with the gradient in the region
// that `region` (a view function) selects.
Tensor scatter_into_zeros(const Tensor& grad, const Shape& input_shape, const std::function<Tensor(const Tensor&)>& region) {
    Tensor gx = Tensor::zeros(input_shape, grad.dtype(), grad.device());
    copy_into(region(gx), grad);
    return gx;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& requested) {
    const Shape shape = infer_shape("view", x.shape(), requested);
    std::optional<Strides> strides = view_strides(x.shape(), x.strides(), shape);
    WSOL_CHECK(strides.has_value(), "view: a tensor of shape ", shape_str(x.shape()), " and strides ",
               shape_str(x.strides()), " cannot be viewed as ", shape_str(shape), "; use reshape (which copies)");
    return make_view("view", x, shape, *strides, x.offset(), [in = x.shape()](const TensorList& g, const GradMask&) {
        return TensorList{reshape(g[0], in)};
    });
}

Tensor reshape(const Tensor& x, const Shape& requested) {
    const Shape shape = infer_shape("reshape", x.shape(), requested);
    if (view_strides(x.shape(), x.strides(), shape)) return view(x, shape);
    return view(contiguous(x), shape);
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
    if (x.dim() == 0) return reshape(x, {1});
    const int64_t start = wrap_axis(start_axis, x.dim(), "flatten");
    const int64_t end = wrap_axis(end_axis, x.dim(), "flatten");
    WSOL_CHECK(start <= end, "flatten: start axis ", start_axis, " comes after end axis ", end_axis);
    Shape shape;
    for (int64_t d = 0; d < start; ++d) shape.push_back(x.shape()[size_t(d)]);
    int64_t merged = 1;
    for (int64_t d = start; d <= end; ++d) merged *= x.shape()[size_t(d)];
    shape.push_back(merged);
    for (int64_t d = end + 1; d < x.dim(); ++d) shape.push_back(x.shape()[size_t(d)]);
    return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
    WSOL_CHECK(int64_t(order.size()) == x.dim(), "permute: order of length ", order.size(), " for a tensor with ",
               x.dim(), " dimensions");
    Shape shape(order.size());
    Strides strides(order.size());
    std::vector<int64_t> inverse(order.size(), -1);
    for (size_t i = 0; i < order.size(); ++i) {
        const int64_t d = wrap_axis(order[i], x.dim(), "permute");
        WSOL_CHECK(inverse[size_t(d)] < 0, "permute: axis ", d, " appears twice in the order");
        inverse[size_t(d)] = int64_t(i);
        shape[i] = x.shape()[size_t(d)];
        strides[i] = x.strides()[size_t(d)];
    }
    return make_view("permute", x, shape, strides, x.offset(), [inverse](const TensorList& g, const GradMask&) {
        return TensorList{permute(g[0], inverse)};
    });
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
    std::vector<int64_t> order(size_t(x.dim()));
    for (int64_t d = 0; d < x.dim(); ++d) order[size_t(d)] = d;
    std::swap(order[size_t(wrap_axis(axis0, x.dim(), "transpose"))], order[size_t(wrap_axis(axis1, x.dim(), "transpose"))]);
    return permute(x, order);
}

Tensor narrow(const Tensor& x, int64_t axis_in, int64_t start, int64_t length) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "narrow");
    const int64_t size = x.shape()[size_t(axis)];
    WSOL_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: range [", start, ", ", start + length,
               ") is outside [0, ", size, ") on axis ", axis, " of ", shape_str(x.shape()));
    Shape shape = x.shape();
    shape[size_t(axis)] = length;
    const int64_t offset = x.offset() + start * x.strides()[size_t(axis)];
    return make_view("narrow", x, shape, x.strides(), offset,
                     [in = x.shape(), axis, start, length](const TensorList& g, const GradMask&) {
                         return TensorList{scatter_into_zeros(g[0], in, [&](const Tensor& gx) {
                             return narrow(gx, axis, start, length);
                         })};
                     });
}

Tensor slice(const Tensor& x, int64_t axis_in, int64_t start, int64_t end, int64_t step) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "slice");
    WSOL_CHECK(step > 0, "slice: step must be positive, got ", step);
    const int64_t size = x.shape()[size_t(axis)];
    // Python slice semantics: negative indices count from the end, then clamp to [0, size].
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = std::clamp<int64_t>(start, 0, size);
    end = std::clamp<int64_t>(end, start, size);
    const int64_t length = (end - start + step - 1) / step;
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape[size_t(axis)] = length;
    strides[size_t(axis)] *= step;
    const int64_t offset = x.offset() + start * x.strides()[size_t(axis)];
    return make_view("slice", x, shape, strides, offset,
                     [in = x.shape(), axis, start, end, step](const TensorList& g, const GradMask&) {
                         return TensorList{scatter_into_zeros(g[0], in, [&](const Tensor& gx) {
                             return slice(gx, axis, start, end, step);
                         })};
                     });
}

Tensor select(const Tensor& x, int64_t axis_in, int64_t index) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "select");
    const int64_t size = x.shape()[size_t(axis)];
    WSOL_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for axis ", axis,
               " of size ", size);
    if (index < 0) index += size;
    Shape shape = x.shape();
    Strides strides = x.strides();
    const int64_t offset = x.offset() + index * strides[size_t(axis)];
    shape.erase(shape.begin() + axis);
    strides.erase(strides.begin() + axis);
    return make_view("select", x, shape, strides, offset,
                     [in = x.shape(), axis, index](const TensorList& g, const GradMask&) {
                         return TensorList{scatter_into_zeros(g[0], in, [&](const Tensor& gx) {
                             return select(gx, axis, index);
                         })};
                     });
}

Tensor expand(const Tensor& x, const Shape& requested) {
    WSOL_CHECK(int64_t(requested.size()) >= x.dim(), "expand: cannot expand ", shape_str(x.shape()), " to fewer dimensions ",
               shape_str(requested));
    const int64_t lead = int64_t(requested.size()) - x.dim();
    Shape shape(requested.size());
    Strides strides(requested.size());
    for (int64_t d = 0; d < int64_t(requested.size()); ++d) {
        const int64_t want = requested[size_t(d)];
        if (d < lead) {
            WSOL_CHECK(want >= 0, "expand: size -1 is not allowed for the new leading dimension ", d);
            shape[size_t(d)] = want;
            strides[size_t(d)] = 0;
            continue;
        }
        const int64_t have = x.shape()[size_t(d - lead)];
        if (want == -1 || want == have) {
            shape[size_t(d)] = have;
            strides[size_t(d)] = x.strides()[size_t(d - lead)];
        } else {
            WSOL_CHECK(have == 1, "expand: cannot expand ", shape_str(x.shape()), " to ", shape_str(requested),
                       " (dimension ", d, " has size ", have, ", not 1)");
            shape[size_t(d)] = want;
            strides[size_t(d)] = 0;
        }
    }
    if (shape == x.shape()) return x;
    return make_view("expand", x, shape, strides, x.offset(), [in = x.shape()](const TensorList& g, const GradMask&) {
        return TensorList{sum_to(g[0], in)};
    });
}

Tensor squeeze(const Tensor& x, int64_t axis_in) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "squeeze");
    if (x.shape()[size_t(axis)] != 1) return x;  // like PyTorch: squeezing a non-1 axis is a no-op
    Shape shape = x.shape();
    shape.erase(shape.begin() + axis);
    return reshape(x, shape);
}

Tensor squeeze(const Tensor& x) {
    Shape shape;
    for (int64_t s : x.shape()) {
        if (s != 1) shape.push_back(s);
    }
    return reshape(x, shape);
}

Tensor unsqueeze(const Tensor& x, int64_t axis_in) {
    const int64_t axis = wrap_axis(axis_in, x.dim() + 1, "unsqueeze");
    Shape shape = x.shape();
    shape.insert(shape.begin() + axis, 1);
    return reshape(x, shape);
}

Tensor contiguous(const Tensor& x) {
    if (x.is_contiguous()) return x;
    return clone(x);
}

Tensor clone(const Tensor& x) {
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(y, x);
    if (any_requires_grad({x})) {
        record_op("clone", {x}, {y}, [](const TensorList& g, const GradMask&) { return TensorList{g[0]}; });
    }
    return y;
}

Tensor to(const Tensor& x, DType dtype) {
    if (x.dtype() == dtype) return x;
    Tensor y = Tensor::empty(x.shape(), dtype, x.device());
    copy_into(y, x);
    if (is_floating(dtype) && any_requires_grad({x})) {
        record_op("to_dtype", {x}, {y}, [from = x.dtype()](const TensorList& g, const GradMask&) {
            return TensorList{to(g[0], from)};
        });
    }
    return y;
}

Tensor to(const Tensor& x, Device device) {
    if (x.device() == device) return x;
    Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
    copy_into(y, x);
    if (any_requires_grad({x})) {
        record_op("to_device", {x}, {y}, [from = x.device()](const TensorList& g, const GradMask&) {
            return TensorList{to(g[0], from)};
        });
    }
    return y;
}

}  // namespace wsol
