// Reductions over axes: sum, mean, var, max/min (values and indices), amax/amin, argmax/argmin,
// logsumexp, cumsum, and sum_to (the reduction that undoes broadcasting in backward passes).
//
// `axes` lists the axes to reduce (negative counts from the end); an empty list means all axes.
// With keepdim the reduced axes stay as size 1, so the result broadcasts against the input.
// Floating sums accumulate in double on the CPU.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace wsol {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Variance with Bessel-style `correction` (1 = unbiased, PyTorch's default; 0 = population).
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
// Largest / smallest value over axes. Gradient: split evenly among tied maxima (like PyTorch amax).
Tensor amax(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Axes& axes = {}, bool keepdim = false);

struct ValuesIndices {
    Tensor values;   // differentiable; the gradient flows to the selected element only
    Tensor indices;  // int64
};
// Max / min along one axis with the index of the first extreme element (as PyTorch on CPU).
ValuesIndices max(const Tensor& x, int64_t axis, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);

// log(sum(exp(x))) over axes, computed stably around the maximum.
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdim = false);
// Running sum along one axis.
Tensor cumsum(const Tensor& x, int64_t axis);

// Sums x down to `shape`, the shape it was broadcast from (leading axes dropped, size-1 axes
// summed with keepdim). Returns x itself when the shapes already agree.
Tensor sum_to(const Tensor& x, const Shape& shape);

// Axes normalised: wrapped, sorted, unique; all axes when `axes` is empty.
Axes normalize_axes(const Axes& axes, int64_t ndim, const char* op);
// The output shape of a reduction.
Shape reduced_shape(const Shape& shape, const Axes& normalized_axes, bool keepdim);

}  // namespace wsol
