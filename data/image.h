// The two small value types the data layer passes around: an 8-bit RGB image in memory and a box.
//
// Image is interleaved (HWC) RGB, row-major, 3 bytes per pixel, no padding — the layout every
// decoder produces and the resampler reads. It becomes an NCHW tensor only at the very end of the
// pipeline (transforms.h), so a whole augmentation chain runs on plain bytes.
//
// Box holds corner coordinates in pixels as doubles, in whatever convention its source uses:
// wsolevaluation metadata and ImageNet XML give inclusive integer corners (x1 <= W-1), the official
// CUB file gives (x, y, x+w, y+h) floats. The evaluation protocols (boxes.h) apply their formulas to
// the numbers as given, exactly like the seeds' Python code does, so no conversion happens on read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsol::data {

struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;  // (height, width, 3) RGB

    Image() = default;
    Image(int w, int h) : width(w), height(h), pixels(size_t(w) * size_t(h) * 3) {}
    bool empty() const { return width == 0 || height == 0; }
    uint8_t* row(int y) { return pixels.data() + size_t(y) * size_t(width) * 3; }
    const uint8_t* row(int y) const { return pixels.data() + size_t(y) * size_t(width) * 3; }
};

// One-channel 8-bit image (masks).
struct GrayImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;  // (height, width)

    GrayImage() = default;
    GrayImage(int w, int h) : width(w), height(h), pixels(size_t(w) * size_t(h)) {}
};

struct Box {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;

    friend bool operator==(const Box&, const Box&) = default;
};

std::string box_str(const Box& box);  // "[x0, y0, x1, y1]"

}  // namespace wsol::data
