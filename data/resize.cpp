// Pillow-exact antialiased bilinear resampling (see resize.h for the algorithm it follows).
#include "data/resize.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "engine/error.h"

namespace wsol::data {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

inline double triangle(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's clip8: the accumulated value >> 22, clamped to a byte.
inline uint8_t clip8(int32_t value) {
    if (value >= (int32_t(256) << kPrecisionBits)) return 255;
    if (value <= 0) return 0;
    return uint8_t(value >> kPrecisionBits);
}

// A plain view of interleaved RGB rows: `data` is pixel (0, 0); rows are `stride` bytes apart.
struct Plane {
    const uint8_t* data;
    size_t stride;
};

// Horizontal pass. `in` holds `rows` rows whose column 0 is source column `in_col0`; output
// columns [col0, col0 + cols) go to out, (rows, cols, 3).
void horizontal_pass(Plane in, int in_col0, int rows, const ResampleTaps& taps, int col0, int cols, uint8_t* out) {
    for (int r = 0; r < rows; ++r) {
        const uint8_t* row = in.data + size_t(r) * in.stride;
        uint8_t* o = out + size_t(r) * size_t(cols) * 3;
        for (int c = 0; c < cols; ++c) {
            const int i = col0 + c;
            const int32_t* k = taps.weights.data() + size_t(i) * size_t(taps.max_taps);
            const uint8_t* p = row + size_t(taps.first[size_t(i)] - in_col0) * 3;
            int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
            for (int t = 0; t < taps.count[size_t(i)]; ++t) {
                s0 += int32_t(p[3 * t + 0]) * k[t];
                s1 += int32_t(p[3 * t + 1]) * k[t];
                s2 += int32_t(p[3 * t + 2]) * k[t];
            }
            o[3 * c + 0] = clip8(s0);
            o[3 * c + 1] = clip8(s1);
            o[3 * c + 2] = clip8(s2);
        }
    }
}

// Vertical pass. `in` holds rows of `width` pixels whose row 0 is source row `in_row0`; output
// rows [row0, row0 + rows) go to out, (rows, width, 3).
void vertical_pass(Plane in, int in_row0, int width, const ResampleTaps& taps, int row0, int rows, uint8_t* out) {
    const size_t n = size_t(width) * 3;
    std::vector<int32_t> acc(n);
    for (int r = 0; r < rows; ++r) {
        const int i = row0 + r;
        const int32_t* k = taps.weights.data() + size_t(i) * size_t(taps.max_taps);
        const uint8_t* base = in.data + size_t(taps.first[size_t(i)] - in_row0) * in.stride;
        std::fill(acc.begin(), acc.end(), int32_t(1) << (kPrecisionBits - 1));
        // Row-wise accumulation keeps the inner loop contiguous (vectorisable); the sum is the same
        // integer as Pillow's per-pixel loop because integer addition is exact.
        for (int t = 0; t < taps.count[size_t(i)]; ++t) {
            const uint8_t* p = base + size_t(t) * in.stride;
            const int32_t w = k[t];
            for (size_t j = 0; j < n; ++j) acc[j] += int32_t(p[j]) * w;
        }
        uint8_t* o = out + size_t(r) * n;
        for (size_t j = 0; j < n; ++j) o[j] = clip8(acc[j]);
    }
}

// The source range [first, end) that outputs [begin, begin + n) read.
std::pair<int, int> source_span(const ResampleTaps& taps, int begin, int n) {
    const size_t last = size_t(begin + n - 1);
    return {taps.first[size_t(begin)], taps.first[last] + taps.count[last]};
}

}  // namespace

ResampleTaps bilinear_taps(int in_size, int out_size) {
    WSOL_CHECK(in_size > 0 && out_size > 0, "bilinear_taps: sizes must be positive (", in_size, " -> ", out_size, ")");
    ResampleTaps taps;
    // Pillow computes the box as floats (0, in_size) and everything else in double.
    const double scale = double(float(in_size) - 0.0f) / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 1.0 * filterscale;  // the bilinear filter's support is 1
    taps.max_taps = int(std::ceil(support)) * 2 + 1;
    taps.first.resize(size_t(out_size));
    taps.count.resize(size_t(out_size));
    taps.weights.assign(size_t(out_size) * size_t(taps.max_taps), 0);
    std::vector<double> w(size_t(taps.max_taps));
    for (int i = 0; i < out_size; ++i) {
        const double center = (i + 0.5) * scale;
        const double inv = 1.0 / filterscale;
        int lo = int(center - support + 0.5);  // C's (int) truncation, as Pillow
        if (lo < 0) lo = 0;
        int hi = int(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        const int n = hi - lo;
        double total = 0.0;
        for (int t = 0; t < n; ++t) {
            w[size_t(t)] = triangle((t + lo - center + 0.5) * inv);
            total += w[size_t(t)];
        }
        int32_t* k = taps.weights.data() + size_t(i) * size_t(taps.max_taps);
        for (int t = 0; t < n; ++t) {
            const double normalised = total != 0.0 ? w[size_t(t)] / total : w[size_t(t)];
            const double fixed = normalised * double(1 << kPrecisionBits);
            k[t] = int32_t(fixed < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        taps.first[size_t(i)] = lo;
        taps.count[size_t(i)] = n;
    }
    return taps;
}

// Pillow 13 picks the order of the two passes (Pillow PR #9549, a speed change). The rule was
// inferred and then confirmed on 1,700 random size pairs against the installed Pillow 13.0.
bool vertical_pass_first(int in_width, int in_height, int out_width, int out_height) {
    return out_height < in_height && (in_height - out_height) > 2 * (in_width - out_width);
}

Image resize_window(const Image& src, int out_width, int out_height, int x, int y, int width, int height) {
    WSOL_CHECK(!src.empty(), "resize: empty source image");
    WSOL_CHECK(out_width > 0 && out_height > 0, "resize: output size ", out_width, "x", out_height, " is empty");
    WSOL_CHECK(x >= 0 && y >= 0 && width > 0 && height > 0 && x + width <= out_width && y + height <= out_height,
               "resize: window ", width, "x", height, " at (", x, ", ", y, ") is not inside the ", out_width, "x",
               out_height, " output");
    const bool horizontal = out_width != src.width;
    const bool vertical = out_height != src.height;
    const Plane source{src.pixels.data(), size_t(src.width) * 3};
    Image out(width, height);

    if (horizontal && vertical) {
        const ResampleTaps htaps = bilinear_taps(src.width, out_width);
        const ResampleTaps vtaps = bilinear_taps(src.height, out_height);
        std::vector<uint8_t> mid;
        if (vertical_pass_first(src.width, src.height, out_width, out_height)) {
            // Only the source columns the window's horizontal taps read.
            const auto [c0, c1] = source_span(htaps, x, width);
            mid.resize(size_t(height) * size_t(c1 - c0) * 3);
            vertical_pass(Plane{source.data + size_t(c0) * 3, source.stride}, 0, c1 - c0, vtaps, y, height, mid.data());
            horizontal_pass(Plane{mid.data(), size_t(c1 - c0) * 3}, c0, height, htaps, x, width, out.pixels.data());
        } else {
            // Only the source rows the window's vertical taps read.
            const auto [r0, r1] = source_span(vtaps, y, height);
            mid.resize(size_t(r1 - r0) * size_t(width) * 3);
            horizontal_pass(Plane{source.data + size_t(r0) * source.stride, source.stride}, 0, r1 - r0, htaps, x, width,
                            mid.data());
            vertical_pass(Plane{mid.data(), size_t(width) * 3}, r0, width, vtaps, y, height, out.pixels.data());
        }
    } else if (horizontal) {
        const ResampleTaps htaps = bilinear_taps(src.width, out_width);
        horizontal_pass(Plane{source.data + size_t(y) * source.stride, source.stride}, 0, height, htaps, x, width,
                        out.pixels.data());
    } else if (vertical) {
        const ResampleTaps vtaps = bilinear_taps(src.height, out_height);
        vertical_pass(Plane{source.data + size_t(x) * 3, source.stride}, 0, width, vtaps, y, height, out.pixels.data());
    } else {
        for (int r = 0; r < height; ++r) std::memcpy(out.row(r), src.row(y + r) + size_t(x) * 3, size_t(width) * 3);
    }
    return out;
}

Image resize_bilinear(const Image& src, int out_width, int out_height) {
    return resize_window(src, out_width, out_height, 0, 0, out_width, out_height);
}

}  // namespace wsol::data
