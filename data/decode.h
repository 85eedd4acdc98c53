// Image files to RGB bytes, and back (for the synthetic dataset writer).
//
// The format is recognised by its magic bytes, never by the file name: ImageNet's training set
// holds a PNG saved under a .JPEG name, and a few CMYK JPEGs.
//   JPEG - libjpeg-turbo through the TurboJPEG API. Decoding uses libjpeg's defaults (accurate
//          integer IDCT, "fancy" smooth chroma upsampling), the settings Pillow decodes with, so the
//          RGB bytes equal PIL's Image.open(path).convert("RGB") (tested against fixtures).
//          Grayscale JPEGs come out as RGB with R = G = B; CMYK/YCCK JPEGs (Adobe, inverted ink
//          values) are converted to RGB with PIL's own CMYK formula.
//   PNG  - OpenCV (imdecode, 8 bits per channel, alpha dropped as PIL's convert("RGB") does).
// Anything else is an error naming the file.
//
// DCT-domain downscaling (DecodeOptions::dct_downscale, off by default): libjpeg can run a reduced
// IDCT that produces the image at 1/2, 1/4 or 1/8 of its size for a fraction of the cost. When the
// caller will shrink the image to at most half its size anyway, the decoder picks the smallest of
// these factors whose output still covers the target, and the resize then starts from that smaller
// image. The pixels are NOT those of PIL (the reduced IDCT is a different low-pass filter than
// PIL's antialiased bilinear): docs/data.md gives the measured difference. Box coordinates are
// unaffected: transforms always compute them from the original size.
//
// A truncated JPEG (libjpeg's "premature end of file" warning) is an error, as in PIL; libjpeg's
// other warnings (extraneous bytes before a marker, ...) are tolerated, as PIL tolerates them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "data/image.h"

namespace wsol::data {

enum class ImageFormat { Unknown, Jpeg, Png };

const char* format_name(ImageFormat format);
// From the first bytes of a file.
ImageFormat sniff_format(std::string_view bytes);

struct DecodeOptions {
    // Use libjpeg's reduced-size IDCT when the target is at most half the source size (see above).
    bool dct_downscale = false;
    // The size the caller will resize to; only consulted when dct_downscale is on.
    int target_width = 0;
    int target_height = 0;
    // Refuse images with more pixels than this (a corrupt or hostile header cannot make us
    // allocate gigabytes). 2^28 is far above any CUB/ImageNet image.
    int64_t max_pixels = int64_t(1) << 28;
};

struct DecodedImage {
    Image image;           // possibly reduced by a DCT factor
    int source_width = 0;  // size stored in the file
    int source_height = 0;
    int dct_denominator = 1;  // image is ceil(source / dct_denominator) on each side
    ImageFormat format = ImageFormat::Unknown;
};

// `source` (a path or a description) names the data in every error message.
DecodedImage decode_image(std::string_view bytes, const std::string& source, const DecodeOptions& options = {});
// Reads the file and decodes it; a missing or empty file is an error naming the path.
DecodedImage load_image(const std::string& path, const DecodeOptions& options = {});

struct ImageInfo {
    int width = 0;
    int height = 0;
    ImageFormat format = ImageFormat::Unknown;
};
// Width and height from the header only (fast; no pixel decoding).
ImageInfo peek_image_info(std::string_view bytes, const std::string& source);

// The DCT scaling denominator (1, 2, 4 or 8) decode_image would pick for this source and target.
int choose_dct_denominator(int source_width, int source_height, int target_width, int target_height);

// Baseline JPEG with 4:2:0 chroma subsampling (what cameras and ImageNet mostly hold).
std::string encode_jpeg(const Image& image, int quality = 90);
// 8-bit PNG, RGB or single-channel.
std::string encode_png(const Image& image);
std::string encode_png(const GrayImage& image);
// A single-channel 8-bit PNG (a mask); any PNG is accepted and converted to gray.
GrayImage decode_gray_png(std::string_view bytes, const std::string& source);

}  // namespace wsol::data
