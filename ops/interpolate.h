// Resizing (N, C, H, W) tensors to (N, C, out_h, out_w), matching
// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode=..., align_corners=...) exactly:
//   Nearest  - PyTorch's legacy "nearest": source index floor(dst * (in / out)), computed in
//              float32 as PyTorch does, clamped to in - 1 (not the "nearest-exact" half-pixel rule);
//   Bilinear - half-pixel centres, src = (dst + 0.5) in/out - 0.5 clamped at 0 (align_corners
//              false), or src = dst (in - 1)/(out - 1) (align_corners true);
//   Bicubic  - the same source positions without the clamp, Keys' cubic convolution with
//              A = -0.75 over 4 taps whose indices are clamped to the border (no antialias).
// The backward pass scatters each output gradient back with the same weights.
#pragma once

#include "engine/tensor.h"
#include "ops/window.h"

namespace wsol {

enum class InterpMode { Nearest, Bilinear, Bicubic };

// align_corners must be false for Nearest (as in PyTorch, where it is only defined for the
// interpolating modes).
Tensor interpolate(const Tensor& x, Size2 size, InterpMode mode = InterpMode::Nearest, bool align_corners = false);

const char* interp_mode_name(InterpMode mode);

}  // namespace wsol
