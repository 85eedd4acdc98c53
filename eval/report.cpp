// JSON, table and CSV reports (see report.h).
#include "eval/report.h"

#include <cstdio>
#include <sstream>

namespace wsol::eval {

namespace {

std::string format(const char* fmt, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, fmt, value);
    return buffer;
}

std::string box_text(const Box& b) {
    return std::to_string(b.x0) + " " + std::to_string(b.y0) + " " + std::to_string(b.x1) + " " + std::to_string(b.y1);
}

// Quotes a CSV field when it needs it (image ids may contain any character but newline).
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

nlohmann::ordered_json per_delta(const std::vector<BoxAccCurve>& curves, bool threshold,
                                 const std::vector<double>& taus) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const BoxAccCurve& c : curves) {
        out[std::to_string(c.iou_threshold)] = threshold ? taus[c.best_index] : c.max_box_acc;
    }
    return out;
}

}  // namespace

nlohmann::ordered_json score_map_report_json(const ScoreMapEvalResult& result, const ScoreMapEvalOptions& options) {
    nlohmann::ordered_json j;
    if (result.boxes) {
        const BoxAccResult& b = *result.boxes;
        j["maxboxacc"] = b.maxboxacc;
        j["maxboxacc_v2"] = b.maxboxacc_v2;
        j["maxboxacc_at"] = per_delta(b.largest, false, b.cam_thresholds);
        j["maxboxacc_v2_at"] = per_delta(b.all, false, b.cam_thresholds);
        j["best_threshold"] = per_delta(b.largest, true, b.cam_thresholds);
        j["best_threshold_v2"] = per_delta(b.all, true, b.cam_thresholds);
    }
    if (result.pxap) j["pxap"] = result.pxap->pxap;
    j["num_images"] = result.num_images;
    j["num_skipped"] = result.skipped.size();
    nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
    for (const SkippedImage& s : result.skipped) skipped.push_back({{"image_id", s.image_id}, {"reason", s.reason}});
    j["skipped"] = skipped;

    nlohmann::ordered_json curves;
    curves["cam_thresholds"] = result.cam_thresholds;
    if (result.boxes) {
        for (const auto& [key, list] : {std::pair{"boxacc", &result.boxes->largest}, {"boxacc_v2", &result.boxes->all}}) {
            nlohmann::ordered_json acc, counts;
            for (const BoxAccCurve& c : *list) {
                acc[std::to_string(c.iou_threshold)] = c.box_acc;
                counts[std::to_string(c.iou_threshold)] = c.num_correct;
            }
            curves[key] = acc;
            curves[std::string("num_correct") + (std::string(key) == "boxacc" ? "" : "_v2")] = counts;
        }
    }
    if (result.pxap) {
        // Element k: scores >= the k-th bin edge from the top (NaN precision, where nothing is predicted, is null).
        curves["precision"] = result.pxap->precision;
        curves["recall"] = result.pxap->recall;
        curves["positive_histogram"] = result.pxap->positive_histogram;
        curves["negative_histogram"] = result.pxap->negative_histogram;
    }
    j["curves"] = curves;
    j["settings"] = {
        {"metadata", options.metadata_dir},
        {"scoremaps", options.scoremap_dir},
        {"masks", options.mask_root},
        {"score_map_names", options.keep_extension ? "<image_id>.npy" : "<image_id without extension>.npy"},
        {"cam_curve_interval", options.cam_curve_interval},
        {"num_cam_thresholds", result.cam_thresholds.size()},
        {"iou_thresholds", options.iou_thresholds},
        {"skip_bad", options.skip_bad},
        {"protocol", "wsolevaluation (Choe et al., CVPR 2020): OpenCV contours of uint8(score*255) > int(tau*max)"},
    };
    return j;
}

std::string score_map_report_table(const ScoreMapEvalResult& result) {
    std::ostringstream out;
    out << result.num_images << " images evaluated";
    if (!result.skipped.empty()) out << " (" << result.skipped.size() << " skipped)";
    out << ", " << result.cam_thresholds.size() << " CAM thresholds\n";
    if (result.boxes) {
        const BoxAccResult& b = *result.boxes;
        out << "  metric                       value  best threshold\n";
        out << "  MaxBoxAcc (IoU 0.5)       " << format("%8.2f", b.maxboxacc) << "\n";
        out << "  MaxBoxAccV2               " << format("%8.2f", b.maxboxacc_v2) << "\n";
        for (const auto& [name, list] : {std::pair{"largest contour", &b.largest}, {"all contours   ", &b.all}}) {
            for (const BoxAccCurve& c : *list) {
                out << "    " << name << " IoU " << format("%.2f", c.iou_threshold / 100.0) << format("%8.2f", c.max_box_acc)
                    << format("  %.4g", b.cam_thresholds[c.best_index]) << "\n";
            }
        }
    }
    if (result.pxap) out << "  PxAP                      " << format("%8.2f", result.pxap->pxap) << "\n";
    for (size_t i = 0; i < result.skipped.size() && i < 5; ++i) {
        out << "  skipped " << result.skipped[i].image_id << ": " << result.skipped[i].reason << "\n";
    }
    if (result.skipped.size() > 5) out << "  ... and " << result.skipped.size() - 5 << " more skipped\n";
    return out.str();
}

std::string box_details_csv(const std::vector<ImageDetail>& details) {
    std::ostringstream out;
    out << "image_id,map_height,map_width,gt_boxes,maxboxacc_threshold,maxboxacc_box,maxboxacc_iou,maxboxacc_correct";
    if (!details.empty()) {
        for (const BoxAtThreshold& a : details[0].all) {
            const std::string d = std::to_string(a.iou_threshold);
            out << ",v2_threshold_" << d << ",v2_box_" << d << ",v2_iou_" << d << ",v2_correct_" << d;
        }
    }
    out << "\n";
    for (const ImageDetail& d : details) {
        std::string gt;
        for (const Box& b : d.gt_boxes) {
            if (!gt.empty()) gt += ';';
            gt += box_text(b);
        }
        out << csv_field(d.image_id) << "," << d.height << "," << d.width << "," << gt;
        auto row = [&](const BoxAtThreshold& a) {
            out << "," << format("%.17g", a.cam_threshold) << "," << box_text(a.box) << "," << format("%.17g", a.iou) << ","
                << (a.correct ? 1 : 0);
        };
        row(d.largest);
        for (const BoxAtThreshold& a : d.all) row(a);
        out << "\n";
    }
    return out.str();
}

nlohmann::ordered_json legacy_report_json(const LegacyResult& r) {
    nlohmann::ordered_json j;
    const LegacyThresholdResult& best = r.per_threshold[r.best_index];
    j["top1_loc"] = r.percent(best.top1_loc);
    j["top5_loc"] = r.percent(best.top5_loc);
    j["gt_known_loc"] = r.percent(best.gt_known);
    j["top1_cls"] = r.percent(r.top1_cls);
    j["top5_cls"] = r.percent(r.top5_cls);
    j["best_threshold"] = best.threshold;
    j["num_images"] = r.num_images;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const LegacyThresholdResult& t : r.per_threshold) {
        rows.push_back({{"threshold", t.threshold},
                        {"gt_known_loc", r.percent(t.gt_known)},
                        {"top1_loc", r.percent(t.top1_loc)},
                        {"top5_loc", r.percent(t.top5_loc)},
                        {"iou30", r.percent(t.iou30)},
                        {"iou50", r.percent(t.iou50)},
                        {"iou70", r.percent(t.iou70)}});
    }
    j["per_threshold"] = rows;
    j["settings"] = {{"protocol", "legacy CAM (SAT/CSFN/TS-CAM): largest 8-connected component of map > tau"}};
    return j;
}

std::string legacy_report_table(const LegacyResult& r) {
    std::ostringstream out;
    out << r.num_images << " images; Top-1 Cls " << format("%.2f", r.percent(r.top1_cls)) << ", Top-5 Cls "
        << format("%.2f", r.percent(r.top5_cls)) << "\n";
    out << "  threshold  GT-known  Top-1 Loc  Top-5 Loc\n";
    for (size_t i = 0; i < r.per_threshold.size(); ++i) {
        const LegacyThresholdResult& t = r.per_threshold[i];
        out << (i == r.best_index ? "* " : "  ") << format("%9.3f", t.threshold) << format("%10.2f", r.percent(t.gt_known))
            << format("%11.2f", r.percent(t.top1_loc)) << format("%11.2f", r.percent(t.top5_loc)) << "\n";
    }
    return out.str();
}

}  // namespace wsol::eval
