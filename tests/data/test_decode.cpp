// Decoding against PIL (fixtures from tools/reference/data_images.py) and the decoder's bad input.
#include <cstring>

#include "data/decode.h"
#include "data/resize.h"
#include "data_test_util.h"
#include "engine/file_util.h"

namespace wsol::data {
namespace {

using testing::fixture_path;

std::string image_path(const std::string& name) {
    return fixture_path("data/images/" + name);
}

// PIL's decoded bytes for `name`, as an Image.
Image pil_decoded(const std::string& name) {
    static const TensorFile file = load_safetensors(fixture_path("data/decode.safetensors"));
    return image_from_tensor(file.at(name));
}

class DecodeMatchesPil : public ::testing::TestWithParam<const char*> {};

TEST_P(DecodeMatchesPil, Bytes) {
    const std::string name = GetParam();
    const DecodedImage decoded = load_image(image_path(name));
    const Image expected = pil_decoded(name);
    ASSERT_EQ(decoded.image.width, expected.width);
    ASSERT_EQ(decoded.image.height, expected.height);
    EXPECT_EQ(decoded.source_width, expected.width);
    EXPECT_EQ(decoded.dct_denominator, 1);
    EXPECT_EQ(max_abs_diff(decoded.image, expected), 0) << name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecodeMatchesPil,
                         ::testing::Values("rgb420.jpg", "rgb422.jpg", "rgb444.jpg", "progressive.jpg", "gray.jpg",
                                           "cmyk.jpg", "odd_sizes.jpg", "png_named.JPEG", "rgba.png", "palette.png",
                                           "pipeline.jpg"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

TEST(Decode, FormatComesFromTheBytesNotTheName) {
    const std::string bytes = read_file(image_path("png_named.JPEG"));
    EXPECT_EQ(sniff_format(bytes), ImageFormat::Png);
    EXPECT_EQ(decode_image(bytes, "x.JPEG").format, ImageFormat::Png);
    const ImageInfo info = peek_image_info(read_file(image_path("rgb420.jpg")), "rgb420.jpg");
    EXPECT_EQ(info.width, 83);
    EXPECT_EQ(info.height, 61);
    EXPECT_EQ(info.format, ImageFormat::Jpeg);
}

TEST(Decode, BadFilesAreClearErrors) {
    EXPECT_WSOL_ERROR(load_image(image_path("does_not_exist.jpg")), "does_not_exist.jpg: image file does not exist");
    EXPECT_WSOL_ERROR(load_image(image_path("empty.jpg")), "empty.jpg: empty file (0 bytes)");
    EXPECT_WSOL_ERROR(load_image(image_path("truncated.jpg")), "truncated.jpg: JPEG decoding failed");
    EXPECT_WSOL_ERROR(load_image(image_path("truncated.jpg")), "truncated");
    EXPECT_WSOL_ERROR(decode_image("GIF89a......", "anim.gif"), "anim.gif: not a JPEG or PNG file");
    // A JPEG start marker followed by garbage.
    EXPECT_WSOL_ERROR(decode_image(std::string("\xFF\xD8\xFF\xE0garbage", 11), "junk.jpg"), "junk.jpg:");
    // A PNG cut inside its pixel data.
    const std::string png = read_file(image_path("rgba.png"));
    EXPECT_WSOL_ERROR(decode_image(png.substr(0, png.size() / 3), "cut.png"), "cut.png: PNG decoding failed");
    EXPECT_WSOL_ERROR(decode_image(png.substr(0, 20), "short.png"), "short.png: PNG file of 20 bytes");
}

TEST(Decode, PixelLimitIsEnforcedFromTheHeader) {
    DecodeOptions options;
    options.max_pixels = 1000;  // 83 x 61 = 5063 pixels
    EXPECT_WSOL_ERROR(decode_image(read_file(image_path("rgb420.jpg")), "big.jpg", options),
                      "big.jpg: JPEG image of 83x61 exceeds the limit of 1000 pixels");
    EXPECT_WSOL_ERROR(decode_image(read_file(image_path("rgba.png")), "big.png", options), "exceeds the limit");
}

TEST(Decode, DctDenominatorCoversTheTarget) {
    EXPECT_EQ(choose_dct_denominator(500, 375, 256, 256), 1);   // 188 < 256: no reduction
    EXPECT_EQ(choose_dct_denominator(1024, 768, 256, 256), 2);  // 384 >= 256, but 192 < 256
    EXPECT_EQ(choose_dct_denominator(2048, 2048, 256, 256), 8);
    EXPECT_EQ(choose_dct_denominator(2047, 2047, 256, 256), 8);  // ceil(2047/8) = 256: still covers
    EXPECT_EQ(choose_dct_denominator(2040, 2040, 256, 256), 4);  // 255 < 256
    EXPECT_EQ(choose_dct_denominator(4000, 3000, 0, 0), 1);      // no target: full size
}

TEST(Decode, EncodeRoundTrips) {
    Image img(40, 24);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 7) % 251);
    const DecodedImage png = decode_image(encode_png(img), "roundtrip.png");
    EXPECT_EQ(max_abs_diff(png.image, img), 0);
    GrayImage mask(9, 5);
    mask.pixels[13] = 255;
    const GrayImage back = decode_gray_png(encode_png(mask), "mask.png");
    EXPECT_EQ(back.pixels, mask.pixels);
    const std::string jpeg = encode_jpeg(img, 95);
    EXPECT_EQ(sniff_format(jpeg), ImageFormat::Jpeg);
    EXPECT_EQ(decode_image(jpeg, "roundtrip.jpg").image.width, 40);
}

// The DCT-domain reduction is an explicit option because it changes pixels. This measures by how
// much, against the PIL-exact path (full decode + antialiased resize), on a 1024x768 photo-like
// JPEG reduced to 256x256 (decoded at 512x384, i.e. 1/2). The numbers are quoted in docs/data.md.
TEST(Decode, DctDownscaleDiffersLittleFromPil) {
    const Image big = test_picture(1024, 768, 5);
    const std::string jpeg = encode_jpeg(big, 90);
    const Image exact = resize_bilinear(decode_image(jpeg, "big.jpg").image, 256, 256);
    DecodeOptions fast;
    fast.dct_downscale = true;
    fast.target_width = fast.target_height = 256;
    const DecodedImage reduced = decode_image(jpeg, "big.jpg", fast);
    EXPECT_EQ(reduced.dct_denominator, 2);
    EXPECT_EQ(reduced.image.width, 512);
    EXPECT_EQ(reduced.source_width, 1024);
    const Image approx = resize_bilinear(reduced.image, 256, 256);
    const double mean = mean_abs_diff(approx, exact);
    const int worst = max_abs_diff(approx, exact);
    std::printf("[ info ] DCT 1/2 + resize vs PIL-exact, 1024x768 -> 256x256: mean |diff| %.3f, max %d (0..255)\n",
                mean, worst);
    EXPECT_LT(mean, 2.0);
    EXPECT_GT(mean, 0.0);  // it really is a different filter
}

}  // namespace
}  // namespace wsol::data
