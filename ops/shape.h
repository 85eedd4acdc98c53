// Shape and layout ops. Views (reshape when possible, view, permute, transpose, narrow, slice,
// select, expand, squeeze, unsqueeze, flatten) share the input's storage and only change shape,
// strides and offset; their backward maps the gradient back to the input's geometry. contiguous,
// clone and to() copy.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace wsol {

// New shape with the same elements; one entry may be -1 (inferred). A view when the strides
// allow it, otherwise a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
// Like reshape but never copies: an error when the layout does not allow a view.
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
// Elements [start, start + length) along `axis`.
Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length);
// Python-style x[..., start:end:step, ...] along `axis`; negative start/end count from the end and
// are clamped like Python slices. step must be positive.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
// x[..., index, ...]: removes `axis`.
Tensor select(const Tensor& x, int64_t axis, int64_t index);
// Broadcast view to `shape` (size-1 axes stretched with stride 0; -1 keeps a size).
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x, int64_t axis);  // removes one size-1 axis
Tensor squeeze(const Tensor& x);                // removes every size-1 axis
Tensor unsqueeze(const Tensor& x, int64_t axis);

// A row-major copy when x is not already contiguous (then x itself is returned).
Tensor contiguous(const Tensor& x);
// A contiguous copy, always.
Tensor clone(const Tensor& x);
// Converts the element type (differentiable between floating types); x itself if already dtype.
Tensor to(const Tensor& x, DType dtype);
// Moves to a device (differentiable); x itself if already there.
Tensor to(const Tensor& x, Device device);

}  // namespace wsol
