// Boxes and their IoU, with the pixel conventions of the WSOL evaluation code we reproduce.
//
// A Box holds *inclusive* pixel corners (x0, y0, x1, y1): a box covering exactly pixel (3, 5) is
// {3, 5, 3, 5}. IoU therefore adds one to every width and height (wsolevaluation's
// calculate_multiple_iou, SAT's IoU), and two boxes that merely touch overlap by one pixel.
// Note that the *predicted* boxes of both protocols are one pixel wider/taller than the region they
// came from (OpenCV boundingRect's x + w, regionprops' exclusive end): that quirk lives where the
// predicted boxes are made, not here.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace wsol::eval {

struct Box {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    friend bool operator==(const Box&, const Box&) = default;
};

std::ostream& operator<<(std::ostream& out, const Box& box);
std::string box_str(const Box& box);  // "[x0,y0,x1,y1]"

// Intersection over union with the inclusive +1 convention. A non-positive denominator gives 0
// (wsolevaluation's degenerate case); an empty intersection gives 0.
double box_iou(const Box& a, const Box& b);
// max over `gt` of box_iou(box, gt[i]); -1 when gt is empty.
double best_iou(const Box& box, std::span<const Box> gt);

// wsolevaluation's resize_bbox: each coordinate scaled in float64 as int(x * new_w / w), truncated.
Box rescale_box(const Box& box, int width, int height, int new_width, int new_height);

// The legacy (SAT/CSFN/TS-CAM) GT box transform to a center crop: resize the image to
// resize x resize, crop crop x crop from the center: x0' = int(max(x0 / w * resize - shift, 0)),
// x1' = int(min(x1 / w * resize - shift, crop - 1)), likewise for y (sat_csfn.md A5). The result can
// have x1 < x0 for a box entirely inside the cropped-away margin; that is kept (IoU 0).
Box legacy_crop_box(const Box& box, int width, int height, int resize = 256, int crop = 224);

// wsolevaluation's check_box_convention: non-negative corners, x1 >= x0 and y1 >= y0. Throws
// wsol::Error naming `what` and the box otherwise.
void check_box(const Box& box, const std::string& what);

}  // namespace wsol::eval
