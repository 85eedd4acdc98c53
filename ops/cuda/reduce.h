// CUDA kernels of the reduction family (ops/reduce.h), with exactly the signatures of the CPU
// kernels (ops/cpu/reduce.h). float32 and bfloat16 accumulate in float32, float64 in float64 and
// integers in int64; max/min propagate NaN; arg_reduce returns the first extreme element (the
// first NaN if there is one), like the CPU. Supported: float32, float64, bfloat16, int32, int64,
// uint8; anything else is a wsol::Error.
#pragma once

#include "ops/cpu/reduce.h"

namespace wsol::cuda {

using cpu::ReduceOp;

// `out` is contiguous with the keepdim shape; `axes` are normalised (sorted, unique, >= 0).
void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes);
// Max/min along one axis: values and int64 indices, both contiguous with the keepdim shape.
void arg_reduce(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis);
// Inclusive running sum along `axis`, from the end when `reverse`.
void cumsum(const Tensor& out, const Tensor& x, int64_t axis, bool reverse);

}  // namespace wsol::cuda
