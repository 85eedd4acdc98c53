// Evaluating a method on a dataset with both localisation protocols, each with its own input
// pipeline, as the published numbers were produced:
//
//   legacy (SAT, CSFN, TS-CAM; sat_csfn.md A5): resize R x R, centre crop S; the map min-max
//       normalised (+1e-5) and bilinearly resized to S x S; thresholds from a short list; largest
//       8-connected component; Top-1/Top-5/GT-known Loc and Top-1/Top-5 Cls.
//   wsolevaluation (evaluation.md B2-B8): resize S x S directly; the map bicubically resized to S x S
//       then min-max normalised; MaxBoxAcc (delta 0.5, largest contour) and MaxBoxAccV2 (mean over
//       delta 0.3/0.5/0.7, all contours) over cam thresholds 0..1; PxAP when the split has masks.
//
// The two protocols feed the model different images (a centre crop vs the whole image), so each
// runs its own forward pass over the split. The classification figures (Top-1/Top-5 Cls and Loc) come
// from the legacy pass, as in the seeds.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/box_accuracy.h"
#include "eval/legacy.h"
#include "eval/pxap.h"
#include "eval/scoremap_eval.h"
#include "train/method.h"

namespace wsol::train {

struct EvalOptions {
    bool legacy = true;
    bool wsoleval = true;
    int resize = 256;  // legacy pipeline: resize, then centre crop
    int crop = 224;    // legacy crop; also the wsolevaluation input and map size
    std::vector<double> legacy_thresholds = {0.3, 0.35, 0.4, 0.45};
    double cam_curve_interval = 0.001;
    int batch_size = 64;
    int workers = 2;
    bool skip_bad_images = false;
    std::string mask_root;     // PxAP: folder the records' mask paths are relative to ("" = no PxAP)
    std::string scoremap_dir;  // if set: write each wsolevaluation map as <dir>/<image id w/o ext>.npy
    int64_t max_images = 0;    // evaluate only the first N images (0 = all)
    int64_t keep_examples = 0; // keep this many per-image details for overlays (wsolevaluation pass)
    std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;
};

// One image kept for the report's overlays: its wsolevaluation map and boxes.
struct EvalExample {
    eval::ImageDetail detail;
    eval::ScoreMap map;  // normalised, crop x crop
    std::string image_path;
    int label = -1;
    std::vector<int> top5;
};

struct EvalReport {
    int64_t num_images = 0;
    std::optional<eval::LegacyResult> legacy;
    std::optional<eval::BoxAccResult> boxes;
    std::optional<eval::PxapResult> pxap;
    std::vector<EvalExample> examples;
    std::vector<data::SkippedInput> skipped;
    double seconds = 0.0;
    double images_per_second = 0.0;  // model forward passes, both protocols together

    // "maxboxacc_v2", "maxboxacc", "gt_known_loc", "top1_loc", "top5_loc", "top1_cls", "top5_cls",
    // "pxap" (percent); throws naming the metric when this report does not have it.
    double metric(const std::string& name) const;
    nlohmann::ordered_json to_json() const;
    std::string table() const;
};

EvalReport evaluate(Method& method, const std::shared_ptr<const data::Dataset>& dataset, const EvalOptions& options);

// Writes <dir>/<n>.png overlays and <dir>/index.html for the report's examples.
void write_overlays(const EvalReport& report, const std::string& dir, const std::string& title);

}  // namespace wsol::train
