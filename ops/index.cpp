// Joining, splitting and index-based ops: checks, forward dispatch and backward formulas.
// (pad, roll and flip, which move elements by per-axis rules, are in ops/index_remap.cpp.)
//
// cat copies each input into its slice of the output with copy_into (which works on any device),
// and its backward hands each input the matching narrow() view of the gradient. split and chunk
// are narrow() views, so their backward is narrow's. index_select is gather with the index
// broadcast over the other axes, so both share one kernel and one backward (a scatter_add).
#include "ops/index.h"

#include <algorithm>
#include <sstream>

#include "ops/autocast.h"
#include "ops/cpu/index.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/index.h"
#endif

namespace wsol {

namespace {

// "(1,2)": the row-major coordinates of flat position `flat` in `shape`.
std::string position_str(int64_t flat, const Shape& shape) {
    Shape coords(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        coords[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(coords);
}

// Every index value must lie in [0, size). Names the first one that does not; `range` says what
// is indexed ("axis 1 of size 5").
void check_indices(const char* op, const Tensor& index, int64_t size, const std::string& range) {
    WSOL_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, op, ": index tensor must be int64 or int32, got ",
               dtype_name(index.dtype()));
    const std::vector<int64_t> values = index.to_vector<int64_t>();
    for (size_t i = 0; i < values.size(); ++i) {
        WSOL_CHECK(values[i] >= 0 && values[i] < size, op, ": index ", values[i], " at position ",
                   position_str(int64_t(i), index.shape()), " is out of range for ", range, " (valid range [0, ",
                   size - 1, "])");
    }
}

std::string axis_range(int64_t axis, int64_t size) {
    return "axis " + std::to_string(axis) + " of size " + std::to_string(size);
}

// The gather kernel of the tensors' backend into a fresh tensor of index's shape.
Tensor run_gather(const char* op, const Tensor& x, int64_t axis, const Tensor& index) {
    Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
    switch (backend_of(op, {x, index})) {
        case DeviceType::CPU: cpu::gather(out, x, axis, index); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::gather(out, x, axis, index)); break;
    }
    return out;
}

// out (any strides) += src scattered along axis by index (the scatter_add kernel).
void run_scatter_add(const char* op, const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src) {
    switch (backend_of(op, {out, index, src})) {
        case DeviceType::CPU: cpu::scatter_add(out, axis, index, src); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::scatter_add(out, axis, index, src)); break;
    }
}

// gather's backward: zeros shaped like x with the gradient added at the gathered positions.
Tensor scatter_back(const char* op, const Tensor& grad, const Shape& x_shape, int64_t axis, const Tensor& index) {
    Tensor gx = Tensor::zeros(x_shape, grad.dtype(), grad.device());
    run_scatter_add(op, gx, axis, index, grad);
    return gx;
}

}  // namespace

// ---- joining and splitting -------------------------------------------------------------------

Tensor cat(const TensorList& tensors_in, int64_t axis_in) {
    WSOL_CHECK(!tensors_in.empty(), "cat: expected a non-empty list of tensors");
    // bf16 autocast: a mix of float32 and bfloat16 CUDA tensors is joined in float32 (ops/autocast.h).
    TensorList tensors = tensors_in;
    if (autocast_mixed(tensors)) {
        for (Tensor& t : tensors) t = autocast_float(t);
    }
    const Tensor& first = tensors[0];
    WSOL_CHECK(first.defined(), "cat: tensor 0 is undefined");
    WSOL_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated (use stack)");
    const int64_t axis = wrap_axis(axis_in, first.dim(), "cat");
    Shape shape = first.shape();
    shape[size_t(axis)] = 0;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        WSOL_CHECK(t.defined(), "cat: tensor ", i, " is undefined");
        WSOL_CHECK(t.dtype() == first.dtype(), "cat: tensor ", i, " is ", dtype_name(t.dtype()), " but tensor 0 is ",
                   dtype_name(first.dtype()));
        WSOL_CHECK(t.device() == first.device(), "cat: tensor ", i, " is on ", t.device().str(), " but tensor 0 is on ",
                   first.device().str());
        bool match = t.dim() == first.dim();
        for (int64_t d = 0; match && d < t.dim(); ++d) match = d == axis || t.size(d) == first.size(d);
        WSOL_CHECK(match, "cat: tensor ", i, " has shape ", shape_str(t.shape()), " but tensor 0 has shape ",
                   shape_str(first.shape()), "; sizes must match except along axis ", axis);
        sizes.push_back(t.size(axis));
        shape[size_t(axis)] += t.size(axis);
    }
    Tensor y = Tensor::empty(shape, first.dtype(), first.device());
    int64_t offset = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (sizes[i] > 0) copy_into(narrow(y, axis, offset, sizes[i]), tensors[i]);
        offset += sizes[i];
    }
    if (any_requires_grad(tensors)) {
        // Input i's gradient is its slice of the output gradient (a view, no copy).
        record_op("cat", tensors, {y}, [axis, sizes](const TensorList& g, const GradMask& need) {
            TensorList grads(sizes.size());
            int64_t start = 0;
            for (size_t i = 0; i < sizes.size(); ++i) {
                if (need[i]) grads[i] = narrow(g[0], axis, start, sizes[i]);
                start += sizes[i];
            }
            return grads;
        });
    }
    return y;
}

Tensor stack(const TensorList& tensors, int64_t axis_in) {
    WSOL_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
    WSOL_CHECK(tensors[0].defined(), "stack: tensor 0 is undefined");
    const int64_t axis = wrap_axis(axis_in, tensors[0].dim() + 1, "stack");
    TensorList expanded;
    for (size_t i = 0; i < tensors.size(); ++i) {
        WSOL_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
        WSOL_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ",
                   shape_str(tensors[i].shape()), " but tensor 0 has shape ", shape_str(tensors[0].shape()),
                   "; all shapes must be equal");
        expanded.push_back(unsqueeze(tensors[i], axis));
    }
    return cat(expanded, axis);
}

TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis_in) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        WSOL_CHECK(s >= 0, "split: negative size ", s, " in ", shape_str(sizes));
        total += s;
    }
    WSOL_CHECK(total == x.size(axis), "split: sizes ", shape_str(sizes), " sum to ", total, " but axis ", axis, " of ",
               shape_str(x.shape()), " has size ", x.size(axis));
    TensorList pieces;
    int64_t start = 0;
    for (int64_t s : sizes) {
        pieces.push_back(narrow(x, axis, start, s));
        start += s;
    }
    return pieces;
}

TensorList split(const Tensor& x, int64_t split_size, int64_t axis_in) {
    const int64_t axis = wrap_axis(axis_in, x.dim(), "split");
    const int64_t size = x.size(axis);
    WSOL_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split: split size must be positive, got ", split_size,
               " for axis ", axis, " of size ", size);
    if (size == 0) return {narrow(x, axis, 0, 0)};
    std::vector<int64_t> sizes;
    for (int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
    return split(x, sizes, axis);
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t axis_in) {
    WSOL_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
    const int64_t axis = wrap_axis(axis_in, x.dim(), "chunk");
    const int64_t size = x.size(axis);
    // torch.chunk: an empty axis gives `chunks` empty pieces; otherwise pieces of ceil(size/chunks).
    if (size == 0) return split(x, std::vector<int64_t>(size_t(chunks), 0), axis);
    return split(x, (size + chunks - 1) / chunks, axis);
}

// ---- index-based selection -------------------------------------------------------------------

Tensor index_select(const Tensor& x, int64_t axis_in, const Tensor& index) {
    WSOL_CHECK(x.defined() && index.defined(), "index_select: undefined input or index");
    WSOL_CHECK(x.dim() > 0, "index_select: input must have at least one dimension");
    const int64_t axis = wrap_axis(axis_in, x.dim(), "index_select");
    WSOL_CHECK(index.dim() == 1, "index_select: index must be 1-D, got ", shape_str(index.shape()));
    check_indices("index_select", index, x.size(axis), axis_range(axis, x.size(axis)));
    // The index broadcast over the output's shape: stride 0 everywhere but along the axis.
    Shape shape = x.shape();
    shape[size_t(axis)] = index.size(0);
    Strides strides(shape.size(), 0);
    strides[size_t(axis)] = index.stride(0);
    const Tensor wide_index = index.as_strided(shape, strides, index.offset());
    Tensor y = run_gather("index_select", x, axis, wide_index);
    if (any_requires_grad({x})) {
        record_op("index_select", {x}, {y},
                  [shape = x.shape(), axis, wide_index](const TensorList& g, const GradMask&) {
                      return TensorList{scatter_back("index_select backward", g[0], shape, axis, wide_index)};
                  });
    }
    return y;
}

Tensor gather(const Tensor& x, int64_t axis_in, const Tensor& index) {
    WSOL_CHECK(x.defined() && index.defined(), "gather: undefined input or index");
    WSOL_CHECK(x.dim() > 0, "gather: input must have at least one dimension");
    const int64_t axis = wrap_axis(axis_in, x.dim(), "gather");
    WSOL_CHECK(index.dim() == x.dim(), "gather: index ", shape_str(index.shape()), " and input ", shape_str(x.shape()),
               " must have the same number of dimensions");
    for (int64_t d = 0; d < x.dim(); ++d) {
        WSOL_CHECK(d == axis || index.size(d) <= x.size(d), "gather: index ", shape_str(index.shape()),
                   " is larger than input ", shape_str(x.shape()), " along axis ", d);
    }
    check_indices("gather", index, x.size(axis), axis_range(axis, x.size(axis)));
    Tensor y = run_gather("gather", x, axis, index);
    if (any_requires_grad({x})) {
        record_op("gather", {x}, {y}, [shape = x.shape(), axis, index](const TensorList& g, const GradMask&) {
            return TensorList{scatter_back("gather backward", g[0], shape, axis, index)};
        });
    }
    return y;
}

Tensor scatter_add(const Tensor& x, int64_t axis_in, const Tensor& index, const Tensor& src) {
    WSOL_CHECK(x.defined() && index.defined() && src.defined(), "scatter_add: undefined input, index or src");
    check_same_dtype("scatter_add", x, src);
    WSOL_CHECK(x.dim() > 0, "scatter_add: input must have at least one dimension");
    const int64_t axis = wrap_axis(axis_in, x.dim(), "scatter_add");
    WSOL_CHECK(index.dim() == x.dim() && src.dim() == x.dim(), "scatter_add: input ", shape_str(x.shape()), ", index ",
               shape_str(index.shape()), " and src ", shape_str(src.shape()),
               " must have the same number of dimensions");
    for (int64_t d = 0; d < x.dim(); ++d) {
        WSOL_CHECK(index.size(d) <= src.size(d) && (d == axis || index.size(d) <= x.size(d)), "scatter_add: index ",
                   shape_str(index.shape()), " must be no larger than src ", shape_str(src.shape()), " and, off axis ",
                   axis, ", than input ", shape_str(x.shape()), " (axis ", d, ")");
    }
    check_indices("scatter_add", index, x.size(axis), axis_range(axis, x.size(axis)));
    Tensor y = clone(x.detach());
    run_scatter_add("scatter_add", y, axis, index, src);
    if (any_requires_grad({x, src})) {
        // dy/dx = identity; src[p] went to y[..index[p]..], so its gradient is gathered from there
        // (zero where src is larger than index and was not used).
        record_op("scatter_add", {x, src}, {y},
                  [axis, index, src_shape = src.shape()](const TensorList& g, const GradMask& need) {
                      Tensor gsrc;
                      if (need[1]) {
                          gsrc = Tensor::zeros(src_shape, g[0].dtype(), g[0].device());
                          Tensor used = gsrc.as_strided(index.shape(), gsrc.strides(), 0);
                          switch (backend_of("scatter_add backward", {g[0], index})) {
                              case DeviceType::CPU: cpu::gather(used, g[0], axis, index); break;
                              case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::gather(used, g[0], axis, index)); break;
                          }
                      }
                      return TensorList{need[0] ? g[0] : Tensor(), gsrc};
                  });
    }
    return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    WSOL_CHECK(x.defined() && mask.defined(), "masked_fill: undefined input or mask");
    WSOL_CHECK(mask.dtype() == kBool, "masked_fill: mask must be bool, got ", dtype_name(mask.dtype()));
    broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
    Tensor fill = Tensor::empty({}, x.dtype(), x.device());
    copy_into(fill, Tensor::scalar<double>(value));
    return where(mask, fill, x);  // differentiable in x; the gradient is zero where the mask is set
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
    WSOL_CHECK(index.defined(), "one_hot: undefined index");
    WSOL_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, "one_hot: index must be int64 or int32, got ",
               dtype_name(index.dtype()));
    if (num_classes == -1) {
        WSOL_CHECK(index.numel() > 0, "one_hot: cannot infer the number of classes from an empty index");
        const std::vector<int64_t> values = index.to_vector<int64_t>();
        num_classes = *std::max_element(values.begin(), values.end()) + 1;
    }
    WSOL_CHECK(num_classes >= 1, "one_hot: number of classes must be positive, got ", num_classes);
    check_indices("one_hot", index, num_classes, std::to_string(num_classes) + " classes");
    Shape shape = index.shape();
    shape.push_back(num_classes);
    Tensor y = Tensor::empty(shape, kInt64, index.device());
    switch (backend_of("one_hot", {index})) {
        case DeviceType::CPU: cpu::one_hot(y, index); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::one_hot(y, index)); break;
    }
    return y;
}

}  // namespace wsol
