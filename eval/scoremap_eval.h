// Score-map mode: evaluate a folder of saved score maps against wsolevaluation metadata, as
// wsolevaluation's evaluate_wsol does (MaxBoxAcc and MaxBoxAccV2 for boxes, PxAP for masks).
//
// Score maps are <scoremaps>/<image_id without extension>.npy (or <image_id>.npy, the name
// wsolevaluation's own inference writes, with keep_extension), float32 or float64, any H x W,
// values in [0, 1]. GT boxes are rescaled from the image size to the map's size with
// wsolevaluation's resize_bbox; masks are resized (nearest) to the map's size.
//
// Images are evaluated in parallel (OpenMP, one sweep workspace and one accumulator per thread);
// the counts are integers, so the result does not depend on the thread count. A bad image (a
// missing or mis-shaped .npy, NaN, values outside [0, 1], an unreadable mask) is an error naming the
// file, or, with skip_bad, skipped and listed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/box_accuracy.h"
#include "eval/metadata.h"
#include "eval/pxap.h"

namespace wsol::eval {

struct ScoreMapEvalOptions {
    std::string metadata_dir;
    std::string scoremap_dir;
    std::string mask_root;  // folder the mask paths of localization.txt are relative to (mask metadata)
    double cam_curve_interval = 0.001;
    std::vector<int> iou_thresholds = {30, 50, 70};
    bool keep_extension = false;  // <image_id>.npy instead of <image_id without extension>.npy
    bool skip_bad = false;
    int threads = 0;  // 0: OpenMP's default
    // Called with (images done, total) from one thread at a time, at most every few milliseconds.
    std::function<void(int64_t, int64_t)> progress;
};

struct SkippedImage {
    size_t index = 0;
    std::string image_id;
    std::string reason;
};

struct ScoreMapEvalResult {
    WsolMetadata metadata;
    std::vector<double> cam_thresholds;
    std::optional<BoxAccResult> boxes;  // box metadata
    std::optional<PxapResult> pxap;     // mask metadata
    int64_t num_images = 0;             // evaluated (skipped ones excluded)
    std::vector<SkippedImage> skipped;  // in metadata order
    std::vector<uint8_t> evaluated;     // per metadata image
};

std::string score_map_path(const ScoreMapEvalOptions& options, const std::string& image_id);

// Loads, checks and returns the score map of one image; throws naming the file.
ScoreMap load_score_map(const std::string& path);

ScoreMapEvalResult evaluate_score_maps(const ScoreMapEvalOptions& options);

// ---- per-image details at the selected thresholds (CSV rows, overlays) --------------------------

struct BoxAtThreshold {
    int iou_threshold = 50;  // delta, percent
    double cam_threshold = 0.0;
    Box box;                 // the box that scored: the largest contour's, or the best-matching one
    double iou = 0.0;
    bool correct = false;
};

struct ImageDetail {
    size_t index = 0;
    std::string image_id;
    int height = 0, width = 0;    // score map size
    std::vector<Box> gt_boxes;    // on the score map's grid
    BoxAtThreshold largest;       // MaxBoxAcc: its best threshold at delta 50 (or the first delta)
    std::vector<BoxAtThreshold> all;  // MaxBoxAccV2: one per delta, at that delta's best threshold
};

// The boxes of one (normalised) map at the thresholds `boxes` selected: the largest contour's at
// delta 50's best threshold, and the best-matching all-contour box per delta.
ImageDetail image_detail(const ScoreMap& map, std::vector<Box> gt_boxes, const BoxAccResult& boxes);
// A second pass over the evaluated images, extracting boxes at the chosen thresholds with the
// OpenCV reference path (eval/contours.h). Box metadata only. `limit` > 0 stops after that many.
std::vector<ImageDetail> box_details(const ScoreMapEvalOptions& options, const ScoreMapEvalResult& result,
                                     size_t limit = 0);

}  // namespace wsol::eval
