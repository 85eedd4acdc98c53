// wsol-synth: a synthetic weakly-supervised localisation dataset with exact boxes and masks.
//
// Every image shows one object of its class on a cluttered, textured background with distractor
// shapes. Classes differ in the object's shape (10 kinds), texture (7 kinds) and colour (9 hues);
// class c uses shape c % 10, texture c % 7 and hue c % 9, so any two classes among the first 630
// differ in at least one attribute and consecutive classes in all three. Within a class, hue,
// saturation, brightness, texture phase and scale, rotation (+-20 deg), aspect (0.5..2), position
// and size vary.
//
// The class must be recognisable from the object only. So the background (two-colour value noise,
// gradients, a texture overlay, grain) and the distractors (3..10 small shapes of any colour,
// 0.2-3% of the image each) are drawn from random streams keyed by the image alone, never by its
// class: their statistics are identical for every class, and a classifier can only succeed by
// finding the object — which is what makes localisation from labels learnable and meaningful.
//
// The tight box of the object's pixels covers 5-60% of the image area (uniform; the shape's extent
// after rotation is measured before drawing, so the drawn box matches up to a pixel or two). Boxes and masks are
// exact: the mask is the set of object pixels, the box its inclusive pixel extent, computed from
// the drawn pixels (JPEG compression afterwards does not move them).
//
// Everything is a pure function of (seed, layout, split, image number), so the dataset is
// identical for any thread count. Files are written into "<out>.partial" and renamed to <out> once
// complete (after a sync), so an interrupted run never leaves a dataset that looks finished.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/image.h"

namespace wsol::data {

struct SynthOptions {
    std::string out_dir;
    bool cub_layout = true;     // <out>/CUB: official CUB-200-2011 files + metadata/CUB
    bool ilsvrc_layout = true;  // <out>/ILSVRC: train/<wnid>/, val/ + XML, val2/ + metadata/ILSVRC
    int num_classes = 10;
    int train_per_class = 30;
    int val_per_class = 5;  // wsolevaluation's `val` (train-fullsup) split
    int test_per_class = 10;
    int min_side = 256;  // each image side is uniform in [min_side, max_side]
    int max_side = 448;
    double min_area = 0.05;  // object box area as a fraction of the image
    double max_area = 0.60;
    int min_distractors = 3;
    int max_distractors = 10;
    int jpeg_quality = 90;
    uint64_t seed = 0;
    int threads = 0;         // 0: all hardware threads
    bool overwrite = false;  // replace an existing <out>

    void validate() const;
};

constexpr int kSynthShapes = 10, kSynthTextures = 7, kSynthHues = 9;
constexpr int kSynthMaxClasses = kSynthShapes * kSynthTextures * kSynthHues;  // 630

struct SynthClass {
    int shape = 0, texture = 0, hue = 0;
    std::string name;  // e.g. "Red_Striped_Ellipse"
};
SynthClass synth_class(int label);

struct SynthImage {
    Image image;
    GrayImage mask;  // 255 on object pixels
    Box box;         // inclusive pixel corners of the mask
    int label = 0;
    int distractors = 0;
};

// Image `key` (unique per layout/split/number) of class `label`.
SynthImage render_synth_image(const SynthOptions& options, int label, uint64_t key);

struct SynthSummary {
    int64_t images = 0;
    int64_t bytes = 0;
    double seconds = 0;
    double box_area_min = 1, box_area_mean = 0, box_area_max = 0;  // fraction of the image
    double mask_area_mean = 0;                                     // fraction of the image
    double distractors_mean = 0;
    int min_width = 1 << 30, max_width = 0, min_height = 1 << 30, max_height = 0;
    std::vector<std::string> lines;  // per-layout/split counts and paths

    std::string text() const;
};

// Writes the dataset (see the layouts in docs/data.md). `progress(done, total)` is called from
// the writing threads now and then (may be empty).
SynthSummary write_synth_dataset(const SynthOptions& options,
                                 const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace wsol::data
