#include "train/report.h"

#include <cstdio>
#include <filesystem>

#include "engine/file_util.h"
#include "train/trainer.h"

namespace wsol::train {

namespace {

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

void add_row(std::string& out, const EvalReport& r, const char* label, const char* metric) {
    try {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%-16s %6.2f\n", label, r.metric(metric));
        out += buf;
    } catch (const Error&) {
        // the protocol for this metric did not run
    }
}

}  // namespace

std::string headline(const EvalReport& r) {
    std::string out;
    add_row(out, r, "Top-1 Loc", "top1_loc");
    add_row(out, r, "Top-5 Loc", "top5_loc");
    add_row(out, r, "GT-known Loc", "gt_known_loc");
    add_row(out, r, "Top-1 Cls", "top1_cls");
    add_row(out, r, "Top-5 Cls", "top5_cls");
    add_row(out, r, "MaxBoxAcc", "maxboxacc");
    add_row(out, r, "MaxBoxAccV2", "maxboxacc_v2");
    add_row(out, r, "PxAP", "pxap");
    return out;
}

void write_eval_report(const std::string& dir, const EvalReport& report, const nlohmann::json& settings,
                       const std::string& title) {
    std::filesystem::create_directories(dir);
    nlohmann::ordered_json j = report.to_json();
    j["settings"] = settings;
    write_file_atomic(dir + "/report.json", j.dump(2) + "\n");
    write_file_atomic(dir + "/report.txt", title + "\n\n" + report.table() + "\n" + headline(report));
    if (!report.examples.empty()) write_overlays(report, dir + "/overlays", title);
    std::string html = "<!doctype html><html><head><meta charset='utf-8'><title>" + html_escape(title) +
                       "</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
                       "pre{background:#f4f4f4;padding:1em}img{max-width:100%}</style></head><body><h1>" +
                       html_escape(title) + "</h1><h2>Headline numbers (%)</h2><pre>" + html_escape(headline(report)) +
                       "</pre>";
    if (std::filesystem::exists(dir + "/curves.png")) html += "<h2>Training</h2><img src='curves.png' alt='curves'>";
    html += "<h2>Details</h2><pre>" + html_escape(report.table()) + "</pre>";
    if (!report.examples.empty()) {
        html += "<p><a href='overlays/index.html'>Per-image overlays</a> (heat map, ground-truth boxes in green, "
                "predicted boxes) for the first " + std::to_string(report.examples.size()) + " images.</p>";
    }
    html += "<p>Full numbers: <a href='report.json'>report.json</a>.</p><h2>Settings</h2><pre>" +
            html_escape(settings.dump(2)) + "</pre></body></html>\n";
    write_file_atomic(dir + "/report.html", html);
}

void write_run_report(const std::string& dir, const TrainConfig& config, const TrainResult& result,
                      const EvalReport& test, const Splits& splits) {
    nlohmann::json settings;
    settings["dataset"] = splits.describe();
    settings["config"] = config.to_json();
    settings["training"] = {{"steps", result.steps},
                            {"epochs", result.epochs_completed},
                            {"best_epoch", result.best_epoch},
                            {"best_metric", result.best_metric},
                            {"evaluated_checkpoint", result.best_checkpoint},
                            {"train_images_per_second", result.train_images_per_second}};
    write_eval_report(dir, test, settings, "wsol-train: " + config.model.value("method", std::string("?")) + " on " + config.data);
}

}  // namespace wsol::train
