// CPU kernel of the dropout family (ops/dropout.h).
#pragma once

#include "engine/tensor.h"

namespace wsol::cpu {

// out = x * mask * scale, where mask is uint8 (0 or 1) and broadcasts to x's shape (drop_path
// uses one mask value per sample). `out` is contiguous with x's shape; x may be any view.
void masked_scale(const Tensor& out, const Tensor& x, const Tensor& mask, double scale);

}  // namespace wsol::cpu
