// Sliding-window geometry shared by conv2d and the 2-D pools: the (height, width) pair type and
// PyTorch's output-size formulas.
#pragma once

#include <array>
#include <cstdint>

namespace wsol {

// A (height, width) pair: kernel size, stride, padding, dilation or output size.
using Size2 = std::array<int64_t, 2>;

// Windows of `kernel` taps spaced `dilation` apart, stepping by `stride` over an axis of `size`
// padded by `padding` on both sides (PyTorch's conv and pooling formula, rounding down):
//   floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1.
// With ceil_mode the division rounds up, but the last window must still start inside the input
// or its left padding (pooling_output_shape in PyTorch's Pool.h). May return <= 0 for a too-small
// input; callers report that as an error.
inline int64_t window_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                                  bool ceil_mode = false) {
    const int64_t span = size + 2 * padding - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    // Floor division (toward -infinity), so a negative span gives a non-positive size.
    int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
    if (ceil_mode && (out - 1) * stride >= size + padding) --out;
    return out;
}

}  // namespace wsol
