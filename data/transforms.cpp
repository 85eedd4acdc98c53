// The seeds' transforms with their boxes (see transforms.h).
#include "data/transforms.h"

#include <cmath>
#include <cstring>

#include "data/boxes.h"
#include "data/resize.h"
#include "data/sampling.h"
#include "engine/error.h"

namespace wsol::data {

const char* transform_kind_name(TransformKind kind) {
    switch (kind) {
        case TransformKind::RandomCrop:
            return "random_crop";
        case TransformKind::CenterCrop:
            return "center_crop";
        case TransformKind::Resize:
            return "resize";
        case TransformKind::TenCrop:
            return "ten_crop";
    }
    return "?";
}

TransformSpec TransformSpec::train(int resize, int crop) {
    TransformSpec s;
    s.kind = TransformKind::RandomCrop;
    s.resize_width = s.resize_height = resize;
    s.crop = crop;
    return s;
}

TransformSpec TransformSpec::center_crop(int resize, int crop) {
    TransformSpec s;
    s.kind = TransformKind::CenterCrop;
    s.resize_width = s.resize_height = resize;
    s.crop = crop;
    return s;
}

TransformSpec TransformSpec::resize(int size) {
    TransformSpec s;
    s.kind = TransformKind::Resize;
    s.resize_width = s.resize_height = size;
    s.crop = size;
    return s;
}

TransformSpec TransformSpec::ten_crop(int resize, int crop) {
    TransformSpec s = center_crop(resize, crop);
    s.kind = TransformKind::TenCrop;
    return s;
}

void TransformSpec::validate() const {
    WSOL_CHECK(resize_width > 0 && resize_height > 0, "TransformSpec: resize size ", resize_width, "x", resize_height,
               " is empty");
    if (kind != TransformKind::Resize) {
        WSOL_CHECK(crop > 0 && crop <= resize_width && crop <= resize_height, "TransformSpec (",
                   transform_kind_name(kind), "): crop ", crop, " must be in 1..",
                   std::min(resize_width, resize_height), " (the resize is ", resize_width, "x", resize_height, ")");
    }
    WSOL_CHECK(flip_probability >= 0.0 && flip_probability <= 1.0, "TransformSpec: flip probability ", flip_probability,
               " outside [0, 1]");
}

namespace {

// torchvision's centre offset: int(round((size - crop) / 2.0)) with Python's round-half-to-even.
int center_offset(int size, int crop) {
    return int(std::nearbyint((size - crop) / 2.0));
}

// torchvision's TenCrop: five_crop of the image (top-left, top-right, bottom-left, bottom-right,
// centre), then five_crop of the *mirrored* image. A crop at left offset L of the mirrored image is
// the mirror of the crop at offset (W - crop - L) of the original, so the sixth view (top-left of
// the mirror) is the mirrored top-right crop.
Augmentation ten_crop_view(const TransformSpec& s, int view) {
    const int right = s.resize_width - s.crop, bottom = s.resize_height - s.crop;
    const int five = view % 5;
    Augmentation a;
    switch (five) {
        case 0:
            a.crop_x = 0, a.crop_y = 0;
            break;
        case 1:
            a.crop_x = right, a.crop_y = 0;
            break;
        case 2:
            a.crop_x = 0, a.crop_y = bottom;
            break;
        case 3:
            a.crop_x = right, a.crop_y = bottom;
            break;
        default:
            a.crop_x = center_offset(s.resize_width, s.crop);
            a.crop_y = center_offset(s.resize_height, s.crop);
    }
    if (view >= 5) {
        a.flip = true;
        a.crop_x = right - a.crop_x;
    }
    return a;
}

Box transform_box(const Box& b, int width, int height, const TransformSpec& s, const Augmentation& a) {
    if (s.kind == TransformKind::Resize) return wsoleval_box(b, width, height, s.resize_width, s.resize_height);
    return crop_box(b, width, height, s.resize_width, s.resize_height, a.crop_x, a.crop_y, s.crop, s.crop, a.flip);
}

}  // namespace

Augmentation draw_augmentation(const TransformSpec& spec, const philox::Block& random) {
    Augmentation a;
    switch (spec.kind) {
        case TransformKind::RandomCrop:
            a.crop_x = int(uniform_below(random.x[0], uint32_t(spec.resize_width - spec.crop + 1)));
            a.crop_y = int(uniform_below(random.x[1], uint32_t(spec.resize_height - spec.crop + 1)));
            a.flip = double(unit_float(random.x[2])) < spec.flip_probability;
            break;
        case TransformKind::CenterCrop:
            a.crop_x = center_offset(spec.resize_width, spec.crop);
            a.crop_y = center_offset(spec.resize_height, spec.crop);
            break;
        default:
            break;  // Resize has no crop; TenCrop's ten views are fixed (ten_crop_view)
    }
    return a;
}

std::vector<Box> transform_boxes(const std::vector<Box>& boxes, int width, int height, const TransformSpec& spec,
                                 const Augmentation& augmentation, int view) {
    const Augmentation a = spec.kind == TransformKind::TenCrop ? ten_crop_view(spec, view) : augmentation;
    std::vector<Box> out;
    out.reserve(boxes.size());
    for (const Box& b : boxes) out.push_back(transform_box(b, width, height, spec, a));
    return out;
}

std::vector<View> apply_transform(const DecodedImage& decoded, const std::vector<Box>& boxes, const TransformSpec& spec,
                                  const Augmentation& augmentation) {
    spec.validate();
    const int width = decoded.source_width, height = decoded.source_height;
    std::vector<View> views;
    switch (spec.kind) {
        case TransformKind::RandomCrop:
        case TransformKind::CenterCrop: {
            const Augmentation& a = augmentation;
            WSOL_CHECK(a.crop_x >= 0 && a.crop_y >= 0 && a.crop_x + spec.crop <= spec.resize_width &&
                           a.crop_y + spec.crop <= spec.resize_height,
                       "apply_transform: crop at (", a.crop_x, ", ", a.crop_y, ") leaves the ", spec.resize_width, "x",
                       spec.resize_height, " image");
            View v;
            v.image = resize_window(decoded.image, spec.resize_width, spec.resize_height, a.crop_x, a.crop_y, spec.crop,
                                    spec.crop);
            v.flip = a.flip;
            v.boxes = transform_boxes(boxes, width, height, spec, a);
            views.push_back(std::move(v));
            break;
        }
        case TransformKind::Resize: {
            View v;
            v.image = resize_bilinear(decoded.image, spec.resize_width, spec.resize_height);
            v.boxes = transform_boxes(boxes, width, height, spec, augmentation);
            views.push_back(std::move(v));
            break;
        }
        case TransformKind::TenCrop: {
            const Image full = resize_bilinear(decoded.image, spec.resize_width, spec.resize_height);
            for (int k = 0; k < 10; ++k) {
                const Augmentation a = ten_crop_view(spec, k);
                View v;
                v.image = Image(spec.crop, spec.crop);
                for (int r = 0; r < spec.crop; ++r)
                    std::memcpy(v.image.row(r), full.row(a.crop_y + r) + size_t(a.crop_x) * 3, size_t(spec.crop) * 3);
                v.flip = a.flip;
                v.boxes = transform_boxes(boxes, width, height, spec, a, k);
                views.push_back(std::move(v));
            }
            break;
        }
    }
    return views;
}

Normalizer::Normalizer(const Normalization& norm) {
    for (int c = 0; c < 3; ++c) {
        WSOL_CHECK(norm.std[c] != 0.0f, "Normalizer: std of channel ", c, " is zero");
        for (int v = 0; v < 256; ++v) {
            // torchvision: ToTensor divides by 255 in float32, Normalize subtracts then divides.
            const float unit = float(v) / 255.0f;
            table_[c][v] = (unit - norm.mean[c]) / norm.std[c];
        }
    }
}

void Normalizer::write(const Image& image, bool flip, float* chw) const {
    const size_t plane = size_t(image.width) * size_t(image.height);
    for (int y = 0; y < image.height; ++y) {
        const uint8_t* row = image.row(y);
        float* r = chw + size_t(y) * size_t(image.width);
        float* g = r + plane;
        float* b = g + plane;
        for (int x = 0; x < image.width; ++x) {
            const uint8_t* p = row + 3 * size_t(flip ? image.width - 1 - x : x);
            r[x] = table_[0][p[0]];
            g[x] = table_[1][p[1]];
            b[x] = table_[2][p[2]];
        }
    }
}

void write_chw_uint8(const Image& image, bool flip, uint8_t* chw) {
    const size_t plane = size_t(image.width) * size_t(image.height);
    for (int y = 0; y < image.height; ++y) {
        const uint8_t* row = image.row(y);
        uint8_t* r = chw + size_t(y) * size_t(image.width);
        for (int x = 0; x < image.width; ++x) {
            const uint8_t* p = row + 3 * size_t(flip ? image.width - 1 - x : x);
            r[x] = p[0];
            r[x + plane] = p[1];
            r[x + 2 * plane] = p[2];
        }
    }
}

Image flip_horizontal(const Image& image) {
    Image out(image.width, image.height);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            std::memcpy(out.row(y) + 3 * size_t(x), image.row(y) + 3 * size_t(image.width - 1 - x), 3);
    return out;
}

}  // namespace wsol::data
