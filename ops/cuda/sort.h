// CUDA kernels of ops/sort.h, with the signatures of the CPU kernels (ops/cpu/sort.h): x may be any
// view; values and indices are fresh contiguous tensors with x's shape except `axis`, which has
// size k (topk) or the full size (sort). float32, float64, bfloat16, int32, int64, uint8; anything
// else is a wsol::Error. The order is the CPU's exactly: NaN above every number, -0.0 equal to 0.0,
// sort stable, topk ties to the lower index (so the results are identical, not just close).
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

void sort(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis, bool descending);
void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t axis, bool largest,
          bool sorted);

}  // namespace wsol::cuda
