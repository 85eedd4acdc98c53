// Sorting along an axis: sort (stable) and topk, for every numeric dtype.
//
// These are NOT differentiable: values and indices are plain tensors without a gradient, even when
// x requires grad. Where a gradient is needed, gather with the returned indices (an indexing op)
// and differentiate that.
//
// Ordering follows PyTorch: NaN compares as larger than every number (last in an ascending sort,
// first in a descending one, selected first by topk(largest=true)); sort is stable, so equal
// values keep their original order in either direction.
#pragma once

#include <cstdint>

#include "engine/tensor.h"
#include "ops/reduce.h"  // ValuesIndices

namespace wsol {

// values: x sorted along `axis`; indices (int64): where each value was in x.
ValuesIndices sort(const Tensor& x, int64_t axis = -1, bool descending = false);
// The indices of sort(x, axis, descending).
Tensor argsort(const Tensor& x, int64_t axis = -1, bool descending = false);
// The k largest (or smallest) elements along `axis`, 0 <= k <= size. With `sorted` they come best
// first; otherwise in their order along the axis. Among equal values the lower index wins.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true, bool sorted = true);

}  // namespace wsol
