// Strided element copy with dtype conversion between two tensors on the same CUDA device.
#pragma once

#include "engine/tensor.h"

namespace wsol::cuda {

// dst[i] = convert(src[i]) over dst's shape; src has dst's shape or broadcasts to it.
void copy_strided(const Tensor& dst, const Tensor& src);
// dst += src for floating tensors of one shape and dtype (gradient accumulation).
void add_strided(const Tensor& dst, const Tensor& src);

}  // namespace wsol::cuda
