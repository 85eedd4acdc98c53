#include "train/evaluate.h"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "data/loader.h"
#include "engine/file_util.h"
#include "engine/npy.h"
#include "eval/overlay.h"
#include "eval/report.h"
#include "ops/ops.h"

namespace wsol::train {

namespace {

eval::ScoreMap map_of(const std::vector<float>& maps, int64_t index, int64_t h, int64_t w) {
    eval::ScoreMap m(static_cast<int>(h), static_cast<int>(w));
    const float* src = maps.data() + index * h * w;
    for (int64_t i = 0; i < h * w; ++i) m.values[size_t(i)] = double(src[i]);
    return m;
}

// The loader's boxes are already in the view's pixels (inclusive, integral values).
std::vector<eval::Box> view_boxes(const std::vector<data::Box>& boxes) {
    std::vector<eval::Box> out;
    for (const data::Box& b : boxes) out.push_back({int(b.x0), int(b.y0), int(b.x1), int(b.y1)});
    return out;
}

std::vector<std::vector<int>> top5_of(const Tensor& logits) {
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    const std::vector<int64_t> idx = topk(to(logits, kCPU), k, 1).indices.to_vector<int64_t>();
    std::vector<std::vector<int>> out(size_t(logits.size(0)));
    for (size_t b = 0; b < out.size(); ++b) {
        for (int64_t j = 0; j < k; ++j) out[b].push_back(int(idx[b * size_t(k) + size_t(j)]));
    }
    return out;
}

// Runs f(i, thread) for i in [0, n) on the OpenMP threads; the first exception is rethrown after
// the loop (an exception must not escape an OpenMP region).
template <class F>
void parallel_images(int64_t n, F&& f) {
    std::string error;
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) {
        try {
            f(i, omp_get_thread_num());
        } catch (const std::exception& e) {
#pragma omp critical(wsol_evaluate_error)
            if (error.empty()) error = e.what();
        }
    }
    WSOL_CHECK(error.empty(), error);
}

// One forward pass over the split with `transform`; calls on_batch(batch, logits, maps (B*h*w floats), h, w).
template <class OnBatch>
int64_t forward_pass(Method& method, const std::shared_ptr<const data::Dataset>& dataset, const EvalOptions& options,
                     const data::TransformSpec& transform, const std::string& stage,
                     std::vector<data::SkippedInput>& skipped, OnBatch&& on_batch) {
    data::LoaderOptions lo;
    lo.batch_size = options.batch_size;
    lo.num_workers = options.workers;
    lo.transform = transform;
    lo.skip_bad_images = options.skip_bad_images;
    data::DataLoader loader(dataset, lo);
    loader.start_epoch(0);
    const Device device = method.model().device();
    int64_t done = 0;
    while (std::optional<data::Batch> batch = loader.next()) {
        Prediction p = method.predict(to(batch->images, device));
        Tensor maps = to(to(p.maps, kCPU), kFloat32);
        WSOL_CHECK(maps.dim() == 3 && maps.size(0) == batch->size(), method.name(), ": predict returned maps of shape ",
                   shape_str(maps.shape()), " for a batch of ", batch->size());
        on_batch(*batch, p.logits, contiguous(maps).to_vector<float>(), maps.size(1), maps.size(2));
        done += batch->size();
        if (options.progress) options.progress(stage, done, dataset->size());
    }
    skipped.insert(skipped.end(), loader.skipped().begin(), loader.skipped().end());
    return done;
}

}  // namespace

EvalReport evaluate(Method& method, const std::shared_ptr<const data::Dataset>& full, const EvalOptions& options) {
    WSOL_CHECK(options.legacy || options.wsoleval, "evaluate: no protocol selected");
    std::shared_ptr<const data::Dataset> dataset = full;
    if (options.max_images > 0 && options.max_images < full->size()) {
        auto subset = std::make_shared<data::Dataset>(*full);
        subset->records.resize(size_t(options.max_images));
        dataset = subset;
    }
    nn::Module& model = method.model();
    const bool was_training = model.is_training();
    model.eval();
    NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    const int threads = std::max(1, omp_get_max_threads());
    EvalReport report;
    int64_t forwards = 0;

    if (options.legacy) {
        std::vector<eval::LegacyAccumulator> acc(static_cast<size_t>(threads), eval::LegacyAccumulator(options.legacy_thresholds));
        const int crop = options.crop;
        forwards += forward_pass(
            method, dataset, options, data::TransformSpec::center_crop(options.resize, crop), "legacy", report.skipped,
            [&](const data::Batch& b, const Tensor& logits, const std::vector<float>& maps, int64_t h, int64_t w) {
                const std::vector<std::vector<int>> top5 = top5_of(logits);
                const std::vector<int64_t> labels = b.labels.to_vector<int64_t>();
                parallel_images(b.size(), [&](int64_t i, int thread) {
                    eval::EvalRecord r;
                    r.image_id = b.image_ids[size_t(i)];
                    r.score_map = eval::legacy_prepare_map(map_of(maps, i, h, w), crop);
                    r.gt_boxes = view_boxes(b.boxes[size_t(i)]);
                    r.label = int(labels[size_t(i)]);
                    r.top5 = top5[size_t(i)];
                    acc[size_t(thread)].add(r);
                });
            });
        for (int t = 1; t < threads; ++t) acc[0].merge(acc[size_t(t)]);
        report.legacy = acc[0].result();
        report.num_images = report.legacy->num_images;
    }

    if (options.wsoleval) {
        const std::vector<double> taus = eval::cam_thresholds(options.cam_curve_interval);
        std::vector<eval::BoxAccumulator> acc(static_cast<size_t>(threads), eval::BoxAccumulator(taus));
        std::vector<eval::PxapAccumulator> pxap(static_cast<size_t>(threads), eval::PxapAccumulator(taus));
        std::vector<eval::BoxSweeper> sweepers(static_cast<size_t>(threads));
        std::atomic<bool> any_mask{false};
        const int size = options.crop;
        if (!options.scoremap_dir.empty()) std::filesystem::create_directories(options.scoremap_dir);
        std::vector<EvalExample> examples;
        std::vector<std::vector<eval::Box>> example_gt;
        forwards += forward_pass(
            method, dataset, options, data::TransformSpec::resize(size), "wsoleval", report.skipped,
            [&](const data::Batch& b, const Tensor& logits, const std::vector<float>& maps, int64_t h, int64_t w) {
                const std::vector<std::vector<int>> top5 = top5_of(logits);
                const std::vector<int64_t> labels = b.labels.to_vector<int64_t>();
                std::vector<eval::ScoreMap> normalised(size_t(b.size()));
                parallel_images(b.size(), [&](int64_t i, int t) {
                    eval::ScoreMap m = eval::normalize_min_max(
                        eval::resize_score_map(map_of(maps, i, h, w), size, size, eval::Interpolation::Bicubic));
                    eval::check_score_map(m, b.image_ids[size_t(i)]);
                    const std::vector<eval::Box> gt = view_boxes(b.boxes[size_t(i)]);
                    acc[size_t(t)].add(eval::score_image_boxes(eval::quantize_score_map(m), gt, taus, sweepers[size_t(t)]));
                    const data::Record& rec = dataset->records[size_t(b.indices[size_t(i)])];
                    if (!options.mask_root.empty() && !rec.mask_paths.empty()) {
                        pxap[size_t(t)].add(m, eval::load_gt_mask(options.mask_root, rec.mask_paths, rec.ignore_path, size, size),
                                            b.image_ids[size_t(i)]);
                        any_mask.store(true);
                    }
                    normalised[size_t(i)] = std::move(m);
                });
                for (int64_t i = 0; i < b.size(); ++i) {
                    const std::string& id = b.image_ids[size_t(i)];
                    if (!options.scoremap_dir.empty()) {
                        const std::string path = options.scoremap_dir + "/" + eval::strip_extension(id) + ".npy";
                        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
                        save_npy(path, eval::score_map_to_tensor(normalised[size_t(i)]));
                    }
                    if (int64_t(examples.size()) < options.keep_examples) {
                        EvalExample ex;
                        ex.detail.image_id = id;
                        ex.detail.index = size_t(b.indices[size_t(i)]);
                        ex.map = std::move(normalised[size_t(i)]);
                        ex.image_path = dataset->records[size_t(b.indices[size_t(i)])].path;
                        ex.label = int(labels[size_t(i)]);
                        ex.top5 = top5[size_t(i)];
                        examples.push_back(std::move(ex));
                        example_gt.push_back(view_boxes(b.boxes[size_t(i)]));
                    }
                }
            });
        for (int t = 1; t < threads; ++t) {
            acc[0].merge(acc[size_t(t)]);
            pxap[0].merge(pxap[size_t(t)]);
        }
        report.boxes = acc[0].result();
        if (any_mask) report.pxap = pxap[0].result();
        for (size_t k = 0; k < examples.size(); ++k) {
            eval::ImageDetail d = eval::image_detail(examples[k].map, example_gt[k], *report.boxes);
            d.image_id = examples[k].detail.image_id;
            d.index = examples[k].detail.index;
            examples[k].detail = std::move(d);
        }
        report.examples = std::move(examples);
        report.num_images = report.boxes->num_images;
    }

    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.images_per_second = report.seconds > 0 ? double(forwards) / report.seconds : 0.0;
    model.train(was_training);
    return report;
}

double EvalReport::metric(const std::string& name) const {
    if (name == "maxboxacc_v2" && boxes) return boxes->maxboxacc_v2;
    if (name == "maxboxacc" && boxes) return boxes->maxboxacc;
    if (name == "pxap" && pxap) return pxap->pxap;
    if (legacy) {
        const eval::LegacyThresholdResult& best = legacy->per_threshold.at(legacy->best_index);
        if (name == "gt_known_loc") return legacy->percent(best.gt_known);
        if (name == "top1_loc") return legacy->percent(best.top1_loc);
        if (name == "top5_loc") return legacy->percent(best.top5_loc);
        if (name == "top1_cls") return legacy->percent(legacy->top1_cls);
        if (name == "top5_cls") return legacy->percent(legacy->top5_cls);
    }
    WSOL_FAIL("evaluation report: no metric '", name, "' (the protocol that computes it was not run)");
}

nlohmann::ordered_json EvalReport::to_json() const {
    nlohmann::ordered_json j;
    j["num_images"] = num_images;
    if (boxes) {
        nlohmann::ordered_json w;
        w["maxboxacc"] = boxes->maxboxacc;
        w["maxboxacc_v2"] = boxes->maxboxacc_v2;
        nlohmann::ordered_json at, at_v2, thr, thr_v2, curves;
        for (const eval::BoxAccCurve& c : boxes->largest) {
            at[std::to_string(c.iou_threshold)] = c.max_box_acc;
            thr[std::to_string(c.iou_threshold)] = boxes->cam_thresholds[c.best_index];
        }
        for (const eval::BoxAccCurve& c : boxes->all) {
            at_v2[std::to_string(c.iou_threshold)] = c.max_box_acc;
            thr_v2[std::to_string(c.iou_threshold)] = boxes->cam_thresholds[c.best_index];
            curves[std::to_string(c.iou_threshold)] = c.box_acc;
        }
        w["maxboxacc_at"] = at;
        w["maxboxacc_v2_at"] = at_v2;
        w["best_threshold"] = thr;
        w["best_threshold_v2"] = thr_v2;
        w["cam_thresholds"] = boxes->cam_thresholds;
        w["box_acc_v2_curves"] = curves;
        if (pxap) w["pxap"] = pxap->pxap;
        j["wsolevaluation"] = w;
    }
    if (legacy) j["legacy"] = eval::legacy_report_json(*legacy);
    j["skipped_images"] = skipped.size();
    j["seconds"] = seconds;
    j["images_per_second"] = images_per_second;
    return j;
}

std::string EvalReport::table() const {
    std::string out;
    char line[256];
    if (legacy) out += eval::legacy_report_table(*legacy);
    if (boxes) {
        std::snprintf(line, sizeof line, "wsolevaluation (%lld images): MaxBoxAcc %.2f  MaxBoxAccV2 %.2f", (long long)num_images,
                      boxes->maxboxacc, boxes->maxboxacc_v2);
        out += line;
        for (const eval::BoxAccCurve& c : boxes->all) {
            std::snprintf(line, sizeof line, "  @%d %.2f (tau %.3f)", c.iou_threshold, c.max_box_acc,
                          boxes->cam_thresholds[c.best_index]);
            out += line;
        }
        if (pxap) {
            std::snprintf(line, sizeof line, "  PxAP %.2f", pxap->pxap);
            out += line;
        }
        out += "\n";
    }
    if (!skipped.empty()) out += data::skipped_summary(skipped) + "\n";
    return out;
}

void write_overlays(const EvalReport& report, const std::string& dir, const std::string& title) {
    std::filesystem::create_directories(dir);
    std::vector<eval::ImageDetail> details;
    std::vector<std::string> names;
    for (size_t k = 0; k < report.examples.size(); ++k) {
        const EvalExample& ex = report.examples[k];
        char name[32];
        std::snprintf(name, sizeof name, "%05zu.png", k);
        eval::write_overlay_png(dir + "/" + name, ex.image_path, ex.map, ex.detail);
        details.push_back(ex.detail);
        names.push_back(name);
    }
    eval::write_overlay_index(dir, details, names, title);
}

}  // namespace wsol::train
