// Antialiased bilinear resize that reproduces Pillow's Image.resize(size, BILINEAR) byte for byte —
// the resize torchvision's transforms.Resize performs on PIL images, so the one every seed trained with.
//
// Pillow (libImaging/Resample.c) resamples in two separable passes, horizontal then vertical, each
// an 8-bit fixed-point convolution:
//   * for output index i, the source centre is c = (i + 0.5) * scale with scale = in / out;
//   * when shrinking, the triangle filter is stretched by `scale` (support = max(scale, 1)), which
//     is the antialiasing: every source pixel under the stretched triangle contributes;
//   * taps are taken from floor-rounded bounds [int(c - support + 0.5), int(c + support + 0.5)),
//     clipped to the image, and the weights normalised to sum 1 in double precision;
//   * weights become integers with 22 fractional bits (rounded half away from zero), each pass
//     accumulates in int32 starting from 0.5 (1 << 21), shifts right by 22 and clamps to 0..255,
//     so the intermediate image between the passes is 8-bit, as in Pillow.
// A pass whose size does not change is skipped (Pillow skips it too; it would be the identity).
// When both run, Pillow >= 13 runs the vertical pass first if the height shrinks by more than twice
// as many pixels as the width (in_h - out_h > 2 * (in_w - out_w)), and so do we: the rounding to
// 8 bits between the passes makes the order visible. (Pillow < 13 always went horizontal first; the
// two differ by at most 1 on a few pixels, and only for such shapes, never for 500x375 -> 256x256.)
//
// resize_window computes only a rectangle of the resized image. Every output pixel depends only on
// its own taps, so the window equals the same crop of the full resize (tested); a resize-then-crop
// transform uses it to skip the pixels the crop would throw away.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image.h"

namespace wsol::data {

// Pillow's per-output-pixel taps along one axis: output i reads `count[i]` source pixels from
// `first[i]` with integer weights weights[i * max_taps + t] (22 fractional bits).
struct ResampleTaps {
    int max_taps = 0;
    std::vector<int> first, count;
    std::vector<int32_t> weights;
};
ResampleTaps bilinear_taps(int in_size, int out_size);

Image resize_bilinear(const Image& src, int out_width, int out_height);

// Pillow 13's choice of pass order (see above).
bool vertical_pass_first(int in_width, int in_height, int out_width, int out_height);

// Rows [y, y + height) and columns [x, x + width) of resize_bilinear(src, out_width, out_height).
Image resize_window(const Image& src, int out_width, int out_height, int x, int y, int width, int height);

}  // namespace wsol::data
