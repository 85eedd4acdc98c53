// Shapes, strides and the arithmetic on them that every op needs: element counts, contiguous
// strides, axis wrapping and NumPy broadcasting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsol {

using Shape = std::vector<int64_t>;    // sizes, outermost first
using Strides = std::vector<int64_t>;  // in elements, not bytes

int64_t shape_numel(const Shape& shape);
// Row-major (C order) strides of a shape: the last axis has stride 1.
Strides contiguous_strides(const Shape& shape);
// "(2,3,4)"; a scalar prints as "()".
std::string shape_str(const Shape& shape);
// Wraps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int64_t wrap_axis(int64_t axis, int64_t ndim, const char* op);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace wsol
