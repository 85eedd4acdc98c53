// CPU kernels of the reduction family (ops/reduce.h). `out` is contiguous with the keepdim shape
// (reduced axes of size 1); `axes` are normalised (sorted, unique, non-negative).
#pragma once

#include "ops/reduce.h"

namespace wsol::cpu {

enum class ReduceOp { Sum, Max, Min };

void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes);
// Max/min along one axis: values and int64 indices (first occurrence; NaN counts as the extreme).
void arg_reduce(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis);
// Inclusive running sum along `axis`, from the end when `reverse`.
void cumsum(const Tensor& out, const Tensor& x, int64_t axis, bool reverse);

}  // namespace wsol::cpu
