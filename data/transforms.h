// The seeds' image transforms, each moving the ground-truth boxes along with the pixels.
//
//   RandomCrop  training (SAT/CSFN, wsolevaluation): resize to 256x256 ignoring aspect (PIL-exact
//               antialiased bilinear, resize.h), random 224 crop (offsets uniform in 0..32, like
//               torchvision's RandomCrop), horizontal flip with probability 0.5.
//   CenterCrop  SAT/CSFN evaluation: resize 256x256, centre crop 224 (16-pixel margins).
//   Resize      wsolevaluation evaluation: direct resize to 224x224, no crop.
//   TenCrop     SAT's CUB classification: resize 256x256, the 4 corner crops and the centre crop,
//               then the same five mirrored (torchvision's TenCrop order).
// Then ToTensor + Normalize: (v / 255 - mean) / std with ImageNet's mean and std, in float32 and in
// that operation order, so the float tensors equal torchvision's bit for bit (tested); or raw uint8.
//
// Boxes follow boxes.h: crops use the SAT formula (crop_box, which for the centre crop is exactly
// SAT's evaluator), the direct resize uses wsolevaluation's. Boxes are always computed from the
// image's original size, so the DCT-downscaled decode (decode.h) does not change them.
//
// The crop is computed as a window of the resize (resize_window), never the full 256x256 image.
// The flip is applied while writing the tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "data/decode.h"
#include "data/image.h"
#include "engine/philox.h"

namespace wsol::data {

enum class TransformKind { RandomCrop, CenterCrop, Resize, TenCrop };

const char* transform_kind_name(TransformKind kind);

struct TransformSpec {
    TransformKind kind = TransformKind::CenterCrop;
    int resize_width = 256;  // the first step resizes to exactly this, aspect ignored
    int resize_height = 256;
    int crop = 224;                 // square crop side (not used by Resize)
    double flip_probability = 0.5;  // RandomCrop only
    bool dct_downscale = false;     // decode.h: faster decode of big JPEGs, pixels differ from PIL

    static TransformSpec train(int resize = 256, int crop = 224);
    static TransformSpec center_crop(int resize = 256, int crop = 224);
    static TransformSpec resize(int size = 224);
    static TransformSpec ten_crop(int resize = 256, int crop = 224);

    int out_width() const { return kind == TransformKind::Resize ? resize_width : crop; }
    int out_height() const { return kind == TransformKind::Resize ? resize_height : crop; }
    int views() const { return kind == TransformKind::TenCrop ? 10 : 1; }
    // Throws naming the bad field (crop larger than the resize, empty sizes, probability outside 0..1).
    void validate() const;
};

// The random part of a transform for one sample.
struct Augmentation {
    int crop_x = 0;
    int crop_y = 0;
    bool flip = false;
};

// RandomCrop: offsets uniform in [0, resize - crop] from words 0 and 1, flip from word 2.
// Other kinds: their fixed geometry (the centre for CenterCrop, zero otherwise), no flip.
Augmentation draw_augmentation(const TransformSpec& spec, const philox::Block& random);

struct View {
    Image image;  // the crop (or resize), not yet mirrored
    bool flip = false;
    std::vector<Box> boxes;  // in this view's pixel coordinates, mirrored when flip
};

// The views of one decoded image (1, or 10 for TenCrop). `boxes` are in original pixels.
std::vector<View> apply_transform(const DecodedImage& decoded, const std::vector<Box>& boxes, const TransformSpec& spec,
                                  const Augmentation& augmentation);

// The boxes only (what apply_transform puts in its views), for code that has no pixels.
std::vector<Box> transform_boxes(const std::vector<Box>& boxes, int width, int height, const TransformSpec& spec,
                                 const Augmentation& augmentation, int view = 0);

struct Normalization {
    float mean[3] = {0.485f, 0.456f, 0.406f};  // ImageNet, as every seed uses
    float std[3] = {0.229f, 0.224f, 0.225f};
};

// Writes a view as planar CHW float32, (v / 255 - mean[c]) / std[c], mirrored when `flip`.
// A 256-entry table per channel holds the exact float32 results.
class Normalizer {
public:
    explicit Normalizer(const Normalization& norm = {});
    void write(const Image& image, bool flip, float* chw) const;
    float value(int channel, uint8_t v) const { return table_[channel][v]; }

private:
    float table_[3][256];
};

// Planar CHW uint8, mirrored when `flip`.
void write_chw_uint8(const Image& image, bool flip, uint8_t* chw);

Image flip_horizontal(const Image& image);

}  // namespace wsol::data
