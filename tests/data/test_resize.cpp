// The antialiased bilinear resize against Pillow's output (fixtures from tools/reference/data_images.py).
#include "data/resize.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

using testing::fixture_path;

const TensorFile& resize_fixtures() {
    static const TensorFile file = load_safetensors(fixture_path("data/resize.safetensors"));
    return file;
}

class ResizeMatchesPil : public ::testing::TestWithParam<const char*> {};

// Byte-exact: the error reached against PIL is 0 on every pixel of every case.
TEST_P(ResizeMatchesPil, ByteExact) {
    const std::string name = GetParam();
    const Image x = image_from_tensor(resize_fixtures().at(name + "/x"));
    const Image expected = image_from_tensor(resize_fixtures().at(name + "/y"));
    const Image y = resize_bilinear(x, expected.width, expected.height);
    EXPECT_EQ(max_abs_diff(y, expected), 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ResizeMatchesPil,
                         ::testing::Values("down_both", "up_x_down_y", "vertical_only", "horizontal_only", "up_both",
                                           "shrink_3x", "large_ratio", "tall_vertical_first"));

TEST(Resize, WindowEqualsCropOfFullResize) {
    const Image src = test_picture(97, 73, 3);
    const Image full = resize_bilinear(src, 64, 50);
    for (auto [x, y, w, h] : {std::array<int, 4>{0, 0, 64, 50}, {5, 7, 30, 20}, {63, 49, 1, 1}, {0, 10, 64, 3}}) {
        const Image win = resize_window(src, 64, 50, x, y, w, h);
        ASSERT_EQ(win.width, w);
        for (int r = 0; r < h; ++r)
            for (int c = 0; c < 3 * w; ++c)
                ASSERT_EQ(win.row(r)[c], full.row(y + r)[3 * x + c]) << "window at " << x << "," << y;
    }
    // Same size on both axes: a plain copy.
    const Image same = resize_window(src, 97, 73, 2, 3, 10, 10);
    EXPECT_EQ(same.row(0)[0], src.row(3)[6]);
}

TEST(Resize, TapsSumToOneAndCoverTheSource) {
    for (auto [in, out] : {std::pair{500, 256}, {375, 256}, {17, 96}, {256, 224}}) {
        const ResampleTaps taps = bilinear_taps(in, out);
        for (int i = 0; i < out; ++i) {
            int64_t total = 0;
            for (int t = 0; t < taps.count[size_t(i)]; ++t) total += taps.weights[size_t(i * taps.max_taps + t)];
            // 2^22 up to the rounding of each tap to an integer.
            EXPECT_NEAR(double(total), double(1 << 22), double(taps.count[size_t(i)])) << in << "->" << out;
            EXPECT_GE(taps.first[size_t(i)], 0);
            EXPECT_LE(taps.first[size_t(i)] + taps.count[size_t(i)], in);
        }
    }
}

TEST(Resize, BadArgumentsAreErrors) {
    const Image src = test_picture(10, 10, 1);
    EXPECT_WSOL_ERROR(resize_bilinear(src, 0, 5), "resize: output size 0x5 is empty");
    EXPECT_WSOL_ERROR(resize_window(src, 20, 20, 15, 0, 10, 5), "is not inside the 20x20 output");
    EXPECT_WSOL_ERROR(resize_bilinear(Image(), 5, 5), "resize: empty source image");
}

}  // namespace
}  // namespace wsol::data
