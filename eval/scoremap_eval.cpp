// Score-map mode driver (see scoremap_eval.h): metadata, parallel per-image evaluation, merging.
#include "eval/scoremap_eval.h"

#include <omp.h>

#include <atomic>
#include <chrono>

#include "engine/error.h"
#include "engine/file_util.h"
#include "engine/npy.h"
#include "eval/contours.h"

namespace wsol::eval {

namespace {

int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

// GT boxes of image i on a height x width score map grid.
std::vector<Box> gt_on_map(const WsolMetadata& meta, size_t i, int height, int width) {
    const ImageSize& size = meta.sizes[i];
    std::vector<Box> gt;
    for (const Box& b : meta.boxes[i]) gt.push_back(rescale_box(b, size.width, size.height, width, height));
    return gt;
}

// Runs body(i, thread) for i in [0, n) in parallel. An exception of image i is kept; without
// skip_bad, images after the first failure are not started but all before it are finished, so
// the reported failure is the first bad image in metadata order whatever the scheduling.
template <class Body>
std::vector<std::string> for_each_image(size_t n, int threads, bool skip_bad,
                                        const std::function<void(int64_t, int64_t)>& progress, Body&& body) {
    std::vector<std::string> errors(n);
    std::atomic<int64_t> first_bad{INT64_MAX};
    std::atomic<int64_t> done{0};
    auto last_report = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (int64_t i = 0; i < int64_t(n); ++i) {
        if (!skip_bad && i > first_bad.load(std::memory_order_relaxed)) continue;
        try {
            body(size_t(i), omp_get_thread_num());
        } catch (const std::exception& e) {
            errors[size_t(i)] = e.what();
            int64_t seen = first_bad.load();
            while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
            }
        }
        const int64_t now_done = ++done;
        if (progress && omp_get_thread_num() == 0) {
            const auto now = std::chrono::steady_clock::now();
            if (now - last_report > std::chrono::milliseconds(100)) {
                last_report = now;
                progress(now_done, int64_t(n));
            }
        }
    }
    if (progress) progress(done.load(), int64_t(n));
    if (!skip_bad && first_bad.load() != INT64_MAX) WSOL_FAIL(errors[size_t(first_bad.load())]);
    return errors;
}

}  // namespace

std::string score_map_path(const ScoreMapEvalOptions& options, const std::string& image_id) {
    return options.scoremap_dir + "/" + (options.keep_extension ? image_id : strip_extension(image_id)) + ".npy";
}

ScoreMap load_score_map(const std::string& path) {
    WSOL_CHECK(file_exists(path), path, ": score map not found");
    ScoreMap map = score_map_from_tensor(load_npy(path), path);
    check_score_map(map, path);
    return map;
}

ScoreMapEvalResult evaluate_score_maps(const ScoreMapEvalOptions& options) {
    ScoreMapEvalResult result;
    result.metadata = load_wsol_metadata(options.metadata_dir);
    result.cam_thresholds = cam_thresholds(options.cam_curve_interval);
    const WsolMetadata& meta = result.metadata;
    const bool masks = meta.has_masks();
    WSOL_CHECK(!masks || !options.mask_root.empty(), options.metadata_dir,
               "/localization.txt lists masks: the mask root folder is needed (--masks)");
    WSOL_CHECK(masks || options.mask_root.empty(), options.metadata_dir,
               "/localization.txt lists boxes, but a mask root was given");
    const size_t n = meta.size();
    const int threads = thread_count(options.threads);

    std::vector<BoxAccumulator> box_acc;
    std::vector<PxapAccumulator> pxap_acc;
    for (int t = 0; t < threads; ++t) {
        if (masks) pxap_acc.emplace_back(result.cam_thresholds);
        else box_acc.emplace_back(result.cam_thresholds, options.iou_thresholds);
    }
    std::vector<BoxSweeper> sweepers(static_cast<size_t>(threads));
    result.evaluated.assign(n, 0);

    const std::vector<std::string> errors =
        for_each_image(n, threads, options.skip_bad, options.progress, [&](size_t i, int thread) {
            const std::string path = score_map_path(options, meta.image_ids[i]);
            const ScoreMap map = load_score_map(path);
            if (masks) {
                const GtMask mask = load_gt_mask(options.mask_root, meta.mask_paths[i], meta.ignore_paths[i],
                                                 map.height, map.width);
                pxap_acc[size_t(thread)].add(map, mask, path);
            } else {
                const std::vector<Box> gt = gt_on_map(meta, i, map.height, map.width);
                const QuantizedMap q = quantize_score_map(map);
                box_acc[size_t(thread)].add(score_image_boxes(q, gt, result.cam_thresholds, sweepers[size_t(thread)]));
            }
            result.evaluated[i] = 1;
        });
    for (size_t i = 0; i < n; ++i) {
        if (!errors[i].empty()) result.skipped.push_back(SkippedImage{i, meta.image_ids[i], errors[i]});
    }
    result.num_images = int64_t(n - result.skipped.size());
    WSOL_CHECK(result.num_images > 0, options.scoremap_dir, ": no image could be evaluated (", result.skipped.size(),
               " skipped; first: ", result.skipped.empty() ? "" : result.skipped[0].reason, ")");
    if (masks) {
        for (int t = 1; t < threads; ++t) pxap_acc[0].merge(pxap_acc[size_t(t)]);
        result.pxap = pxap_acc[0].result();
    } else {
        for (int t = 1; t < threads; ++t) box_acc[0].merge(box_acc[size_t(t)]);
        result.boxes = box_acc[0].result();
    }
    return result;
}

ImageDetail image_detail(const ScoreMap& map, std::vector<Box> gt_boxes, const BoxAccResult& boxes) {
    size_t largest_curve = 0;
    for (size_t d = 0; d < boxes.largest.size(); ++d) {
        if (boxes.largest[d].iou_threshold == 50) largest_curve = d;
    }
    const QuantizedMap q = quantize_score_map(map);
    ImageDetail d;
    d.height = map.height;
    d.width = map.width;
    d.gt_boxes = std::move(gt_boxes);
    auto at = [&](const BoxAccCurve& curve, ContourSelection selection) {
        BoxAtThreshold b;
        b.iou_threshold = curve.iou_threshold;
        b.cam_threshold = boxes.cam_thresholds[curve.best_index];
        b.iou = -1.0;
        for (const Box& box : contour_boxes(q, threshold_level(b.cam_threshold, q.max_level), selection)) {
            const double iou = best_iou(box, d.gt_boxes);
            if (iou > b.iou) {
                b.iou = iou;
                b.box = box;
            }
        }
        b.correct = b.iou >= double(curve.iou_threshold) / 100.0;
        return b;
    };
    d.largest = at(boxes.largest[largest_curve], ContourSelection::Largest);
    for (const BoxAccCurve& curve : boxes.all) d.all.push_back(at(curve, ContourSelection::All));
    return d;
}

std::vector<ImageDetail> box_details(const ScoreMapEvalOptions& options, const ScoreMapEvalResult& result,
                                     size_t limit) {
    WSOL_CHECK(result.boxes.has_value(), "box_details: the evaluation has no box results");
    const WsolMetadata& meta = result.metadata;
    std::vector<size_t> images;
    for (size_t i = 0; i < meta.size() && (limit == 0 || images.size() < limit); ++i) {
        if (result.evaluated[i]) images.push_back(i);
    }
    std::vector<ImageDetail> details(images.size());
    for_each_image(images.size(), thread_count(options.threads), false, {}, [&](size_t k, int) {
        const size_t i = images[k];
        const ScoreMap map = load_score_map(score_map_path(options, meta.image_ids[i]));
        details[k] = image_detail(map, gt_on_map(meta, i, map.height, map.width), *result.boxes);
        details[k].index = i;
        details[k].image_id = meta.image_ids[i];
    });
    return details;
}

}  // namespace wsol::eval
