// Box rescaling of the SAT/CSFN and wsolevaluation protocols (see boxes.h).
#include "data/boxes.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace wsol::data {

namespace {

void check_size(int width, int height, const char* op) {
    WSOL_CHECK(width > 0 && height > 0, op, ": image size ", width, "x", height, " is empty");
}

// Python's int() on a float: truncation toward zero.
inline double py_int(double v) {
    return std::trunc(v);
}

}  // namespace

Box crop_box(const Box& b, int width, int height, int resize_w, int resize_h, int crop_x, int crop_y, int crop_w,
             int crop_h, bool flip) {
    check_size(width, height, "crop_box");
    WSOL_CHECK(crop_w > 0 && crop_h > 0, "crop_box: crop size ", crop_w, "x", crop_h, " is empty");
    // Written as the seeds write it: x * R / W (multiply first, then divide), then shift, then clamp.
    Box out;
    out.x0 = py_int(std::max(b.x0 * resize_w / width - crop_x, 0.0));
    out.y0 = py_int(std::max(b.y0 * resize_h / height - crop_y, 0.0));
    out.x1 = py_int(std::min(b.x1 * resize_w / width - crop_x, double(crop_w - 1)));
    out.y1 = py_int(std::min(b.y1 * resize_h / height - crop_y, double(crop_h - 1)));
    if (flip) {
        const double x0 = out.x0;
        out.x0 = (crop_w - 1) - out.x1;
        out.x1 = (crop_w - 1) - x0;
    }
    return out;
}

Box sat_eval_box(const Box& box, int width, int height, int resize, int crop) {
    WSOL_CHECK(crop <= resize, "sat_eval_box: crop ", crop, " larger than the resize ", resize);
    // torchvision's CenterCrop offset: int(round((R - S) / 2)), Python rounding halves to even.
    const int shift = int(std::nearbyint((resize - crop) / 2.0));
    return crop_box(box, width, height, resize, resize, shift, shift, crop, crop, false);
}

Box wsoleval_box(const Box& b, int width, int height, int size_x, int size_y) {
    check_size(width, height, "wsoleval_box");
    return Box{py_int(b.x0 * size_x / width), py_int(b.y0 * size_y / height), py_int(b.x1 * size_x / width),
               py_int(b.y1 * size_y / height)};
}

}  // namespace wsol::data
