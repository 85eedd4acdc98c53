// JPEG through TurboJPEG, PNG through OpenCV; see decode.h for the choices and what they match.
#include "data/decode.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <vector>

#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

std::string box_str(const Box& box) {
    std::ostringstream out;
    out << "[" << box.x0 << ", " << box.y0 << ", " << box.x1 << ", " << box.y1 << "]";
    return out.str();
}

const char* format_name(ImageFormat format) {
    switch (format) {
        case ImageFormat::Jpeg:
            return "JPEG";
        case ImageFormat::Png:
            return "PNG";
        default:
            return "unknown";
    }
}

ImageFormat sniff_format(std::string_view bytes) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::Jpeg;
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (bytes.size() >= 8 && std::memcmp(b, png_magic, 8) == 0) return ImageFormat::Png;
    return ImageFormat::Unknown;
}

namespace {

// One TurboJPEG decompressor (and compressor) per thread: handles are not thread-safe, and creating
// one per image would cost an allocation of libjpeg's state each time.
struct TjHandle {
    tjhandle handle;
    explicit TjHandle(bool compress) : handle(compress ? tjInitCompress() : tjInitDecompress()) {
        WSOL_CHECK(handle != nullptr, "TurboJPEG: cannot create a handle (", tjGetErrorStr2(nullptr), ")");
    }
    ~TjHandle() { tjDestroy(handle); }
    TjHandle(const TjHandle&) = delete;
    TjHandle& operator=(const TjHandle&) = delete;
};

tjhandle decompressor() {
    thread_local TjHandle h(false);
    return h.handle;
}

tjhandle compressor() {
    thread_local TjHandle h(true);
    return h.handle;
}

void check_dimensions(int width, int height, const DecodeOptions& options, const std::string& source,
                      const char* format) {
    WSOL_CHECK(width > 0 && height > 0, source, ": ", format, " header gives an empty image (", width, "x", height,
               ")");
    WSOL_CHECK(int64_t(width) * int64_t(height) <= options.max_pixels, source, ": ", format, " image of ", width, "x",
               height, " exceeds the limit of ", options.max_pixels, " pixels (DecodeOptions::max_pixels)");
}

// PIL's CMYK -> RGB (Convert.c cmyk2rgb): with k' = 255 - K, R = k' - round(C * k' / 255), using
// the exact integer rounding of its MULDIV255 macro.
inline uint8_t cmyk_channel(int ink, int k_inv) {
    const int t = ink * k_inv + 128;
    const int product = ((t >> 8) + t) >> 8;
    return uint8_t(std::clamp(k_inv - product, 0, 255));
}

struct JpegHeader {
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
};

JpegHeader read_jpeg_header(std::string_view bytes, const std::string& source) {
    JpegHeader h;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    if (tjDecompressHeader3(decompressor(), data, (unsigned long)bytes.size(), &h.width, &h.height, &h.subsampling,
                            &h.colorspace) != 0) {
        WSOL_FAIL(source, ": not a readable JPEG (", tjGetErrorStr2(decompressor()), ")");
    }
    return h;
}

DecodedImage decode_jpeg(std::string_view bytes, const std::string& source, const DecodeOptions& options) {
    const JpegHeader header = read_jpeg_header(bytes, source);
    check_dimensions(header.width, header.height, options, source, "JPEG");
    DecodedImage out;
    out.format = ImageFormat::Jpeg;
    out.source_width = header.width;
    out.source_height = header.height;
    out.dct_denominator = options.dct_downscale ? choose_dct_denominator(header.width, header.height,
                                                                         options.target_width, options.target_height)
                                                : 1;
    const int d = out.dct_denominator;
    const int width = (header.width + d - 1) / d;  // TJSCALED with factor 1/d
    const int height = (header.height + d - 1) / d;

    const bool cmyk = header.colorspace == TJCS_CMYK || header.colorspace == TJCS_YCCK;
    const int pixel_format = cmyk ? TJPF_CMYK : TJPF_RGB;
    const int channels = cmyk ? 4 : 3;
    std::vector<uint8_t> buffer;
    Image image(width, height);
    uint8_t* target = image.pixels.data();
    if (cmyk) {
        buffer.resize(size_t(width) * size_t(height) * 4);
        target = buffer.data();
    }
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const int status = tjDecompress2(decompressor(), data, (unsigned long)bytes.size(), target, width, width * channels,
                                     height, pixel_format, TJFLAG_LIMITSCANS);
    if (status != 0) {
        const std::string message = tjGetErrorStr2(decompressor());
        const bool warning = tjGetErrorCode(decompressor()) == TJERR_WARNING;
        // libjpeg pads a truncated stream with a fake end marker and only warns; PIL refuses such a
        // file ("image file is truncated"), and so do we. Other warnings leave a complete image.
        WSOL_CHECK(warning && message.find("Premature end") == std::string::npos, source, ": JPEG decoding failed (",
                   message, ")", warning ? " - the file is truncated" : "");
    }
    if (cmyk) {
        // Adobe CMYK JPEGs store inverted inks; PIL opens them as "CMYK;I" (inverting back) and
        // then converts with cmyk2rgb. libjpeg hands us the stored (inverted) values.
        const size_t n = size_t(width) * size_t(height);
        for (size_t i = 0; i < n; ++i) {
            const uint8_t* p = buffer.data() + 4 * i;
            const int k_inv = p[3];  // 255 - K with K = 255 - stored
            for (int c = 0; c < 3; ++c) image.pixels[3 * i + size_t(c)] = cmyk_channel(255 - p[c], k_inv);
        }
    }
    out.image = std::move(image);
    return out;
}

// PNG's IHDR: width and height as big-endian 32-bit integers at bytes 16..23.
ImageInfo png_info(std::string_view bytes, const std::string& source) {
    WSOL_CHECK(bytes.size() >= 24, source, ": PNG file of ", bytes.size(), " bytes is too short for its header");
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    auto be32 = [&](size_t at) {
        return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]);
    };
    WSOL_CHECK(std::memcmp(b + 12, "IHDR", 4) == 0, source, ": PNG file does not start with an IHDR chunk");
    const uint32_t w = be32(16), h = be32(20);
    WSOL_CHECK(w > 0 && h > 0 && w <= 0x7fffffffu && h <= 0x7fffffffu, source, ": PNG header gives a size of ", w, "x",
               h);
    return ImageInfo{int(w), int(h), ImageFormat::Png};
}

cv::Mat decode_png_mat(std::string_view bytes, const std::string& source, const DecodeOptions& options, int flags) {
    const ImageInfo info = png_info(bytes, source);
    check_dimensions(info.width, info.height, options, source, "PNG");
    const cv::Mat raw(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    cv::Mat decoded;
    try {
        decoded = cv::imdecode(raw, flags);
    } catch (const cv::Exception& e) {
        WSOL_FAIL(source, ": PNG decoding failed (", e.what(), ")");
    }
    WSOL_CHECK(!decoded.empty(), source, ": PNG decoding failed (corrupt or truncated file)");
    WSOL_CHECK(decoded.depth() == CV_8U, source, ": PNG decoded to an unexpected depth");
    return decoded;
}

}  // namespace

int choose_dct_denominator(int source_width, int source_height, int target_width, int target_height) {
    if (target_width <= 0 || target_height <= 0) return 1;
    for (int d : {8, 4, 2}) {  // the smallest output that still covers the target
        const int w = (source_width + d - 1) / d, h = (source_height + d - 1) / d;
        if (w >= target_width && h >= target_height) return d;
    }
    return 1;
}

DecodedImage decode_image(std::string_view bytes, const std::string& source, const DecodeOptions& options) {
    WSOL_CHECK(!bytes.empty(), source, ": empty file (0 bytes), not an image");
    switch (sniff_format(bytes)) {
        case ImageFormat::Jpeg:
            return decode_jpeg(bytes, source, options);
        case ImageFormat::Png: {
            const cv::Mat bgr = decode_png_mat(bytes, source, options, cv::IMREAD_COLOR);
            WSOL_CHECK(bgr.channels() == 3, source, ": PNG decoded to ", bgr.channels(), " channels");
            DecodedImage out;
            out.format = ImageFormat::Png;
            out.image = Image(bgr.cols, bgr.rows);
            out.source_width = bgr.cols;
            out.source_height = bgr.rows;
            cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, out.image.pixels.data());
            cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
            return out;
        }
        default:
            break;
    }
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    std::ostringstream magic;
    magic << std::hex;
    for (size_t i = 0; i < std::min<size_t>(4, bytes.size()); ++i) magic << (i ? " " : "") << int(b[i]);
    WSOL_FAIL(source, ": not a JPEG or PNG file (first bytes ", magic.str(), ")");
}

DecodedImage load_image(const std::string& path, const DecodeOptions& options) {
    WSOL_CHECK(file_exists(path), path, ": image file does not exist");
    const std::string bytes = read_file(path);
    return decode_image(bytes, path, options);
}

ImageInfo peek_image_info(std::string_view bytes, const std::string& source) {
    WSOL_CHECK(!bytes.empty(), source, ": empty file (0 bytes), not an image");
    switch (sniff_format(bytes)) {
        case ImageFormat::Jpeg: {
            const JpegHeader h = read_jpeg_header(bytes, source);
            return ImageInfo{h.width, h.height, ImageFormat::Jpeg};
        }
        case ImageFormat::Png:
            return png_info(bytes, source);
        default:
            WSOL_FAIL(source, ": not a JPEG or PNG file");
    }
}

std::string encode_jpeg(const Image& image, int quality) {
    WSOL_CHECK(!image.empty(), "encode_jpeg: empty image");
    WSOL_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality ", quality, " outside 1..100");
    unsigned char* jpeg = nullptr;
    unsigned long size = 0;
    const int status = tjCompress2(compressor(), image.pixels.data(), image.width, image.width * 3, image.height,
                                   TJPF_RGB, &jpeg, &size, TJSAMP_420, quality, 0);
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owner(jpeg, tjFree);
    WSOL_CHECK(status == 0, "encode_jpeg: ", tjGetErrorStr2(compressor()));
    return std::string(reinterpret_cast<const char*>(jpeg), size);
}

namespace {
std::string encode_png_mat(const cv::Mat& mat) {
    std::vector<uchar> out;
    WSOL_CHECK(cv::imencode(".png", mat, out), "encode_png: OpenCV could not encode a ", mat.cols, "x", mat.rows,
               " image");
    return std::string(out.begin(), out.end());
}
}  // namespace

std::string encode_png(const Image& image) {
    WSOL_CHECK(!image.empty(), "encode_png: empty image");
    const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return encode_png_mat(bgr);
}

std::string encode_png(const GrayImage& image) {
    WSOL_CHECK(image.width > 0 && image.height > 0, "encode_png: empty image");
    return encode_png_mat(cv::Mat(image.height, image.width, CV_8UC1, const_cast<uint8_t*>(image.pixels.data())));
}

GrayImage decode_gray_png(std::string_view bytes, const std::string& source) {
    WSOL_CHECK(!bytes.empty(), source, ": empty file (0 bytes), not an image");
    WSOL_CHECK(sniff_format(bytes) == ImageFormat::Png, source, ": not a PNG file");
    const cv::Mat gray = decode_png_mat(bytes, source, DecodeOptions{}, cv::IMREAD_GRAYSCALE);
    GrayImage out(gray.cols, gray.rows);
    for (int y = 0; y < gray.rows; ++y)
        std::memcpy(out.pixels.data() + size_t(y) * size_t(gray.cols), gray.ptr(y), size_t(gray.cols));
    return out;
}

}  // namespace wsol::data
