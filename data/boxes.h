// Ground-truth boxes moved into the coordinates of a transformed image, exactly as the seeds' Python
// evaluation code does it (double arithmetic, int() truncating toward zero, same operation order),
// so that an IoU computed on our boxes equals theirs to the last pixel.
//
//   SAT / CSFN evaluators (../shared/reference/sat_csfn.md A5): resize to R x R (aspect ignored),
//   centre crop S, shift = (R - S) / 2:
//       x0' = int(max(x0 * R / W - shift, 0))        x1' = int(min(x1 * R / W - shift, S - 1))
//       y0' = int(max(y0 * R / H - shift, 0))        y1' = int(min(y1 * R / H - shift, S - 1))
//   A box that lies entirely in the cropped-away margin comes out with x1' < x0' (kept: that is
//   what the seeds score).
//
//   wsolevaluation (../shared/reference/evaluation.md B2): direct resize to S x S, no crop:
//       x' = int(x * S / W), y' = int(y * S / H) for all four numbers, no clamping.
//
// crop_box generalises the SAT formula to any crop offset and adds the horizontal flip, so the
// training views (random crop + flip) carry boxes in the same convention. Boxes after these
// functions are inclusive pixel indices (the +1 IoU of both protocols treats them so); a flip maps
// pixel column c to S - 1 - c, hence [x0, x1] -> [S - 1 - x1, S - 1 - x0].
#pragma once

#include "data/image.h"

namespace wsol::data {

// SAT/CSFN evaluation: resize `resize` x `resize`, centre crop `crop`.
Box sat_eval_box(const Box& box, int width, int height, int resize = 256, int crop = 224);

// wsolevaluation: direct resize to `size_x` x `size_y`.
Box wsoleval_box(const Box& box, int width, int height, int size_x = 224, int size_y = 224);

// Resize (width, height) -> (resize_w, resize_h), crop a crop_w x crop_h window at (crop_x, crop_y),
// then mirror horizontally when `flip`. With resize 256, crop 224 at (16, 16), no flip, this is
// sat_eval_box exactly.
Box crop_box(const Box& box, int width, int height, int resize_w, int resize_h, int crop_x, int crop_y, int crop_w,
             int crop_h, bool flip);

}  // namespace wsol::data
