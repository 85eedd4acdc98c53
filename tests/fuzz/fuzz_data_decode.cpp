// libFuzzer target for the image decoder (JPEG via TurboJPEG, PNG via OpenCV) and the transforms
// applied to whatever it returns. Byte 0 selects DCT downscaling and a transform; the rest is the
// file. Only wsol::Error may escape; the pixel limit keeps hostile headers from allocating much.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "data/decode.h"
#include "data/transforms.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    using namespace wsol::data;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    DecodeOptions options;
    options.max_pixels = 1 << 20;
    options.dct_downscale = (data[0] & 1) != 0;
    options.target_width = options.target_height = 32;
    try {
        peek_image_info(bytes, "fuzz");
        const DecodedImage img = decode_image(bytes, "fuzz", options);
        TransformSpec spec = (data[0] & 2) ? TransformSpec::center_crop(40, 32) : TransformSpec::resize(24);
        const std::vector<View> views = apply_transform(img, {Box{1, 2, 30, 40}}, spec, draw_augmentation(spec, {}));
        Normalizer norm;
        std::vector<float> out(size_t(3 * spec.out_width() * spec.out_height()));
        norm.write(views[0].image, (data[0] & 4) != 0, out.data());
    } catch (const wsol::Error&) {
    }
    return 0;
}
