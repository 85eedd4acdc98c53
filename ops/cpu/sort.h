// CPU kernels of ops/sort.h. x may be any view; values and indices are fresh contiguous tensors
// with x's shape except `axis`, which has size k (topk) or the full size (sort).
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

void sort(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis, bool descending);
void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t axis, bool largest,
          bool sorted);

}  // namespace wsol::cpu
