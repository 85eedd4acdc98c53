// wsol-eval: localization evaluation from the command line. A thin front end over eval/:
//
//   wsol-eval scoremaps --metadata <dir> --scoremaps <dir> [--cam-curve-interval 0.001]
//                       [--json <file>] [--csv <file>] [--masks <dir>]
//                       [--images <dir> --overlays <dir> [--overlay-limit N]]
//                       [--keep-extension] [--skip-bad] [--threads N] [--progress]
//   wsol-eval model --checkpoint <wsol checkpoint, or public .pth with --method> --data <dataset root>
//                   [--metadata <dir>] [--split test] [--protocol both|legacy|wsoleval]
//                   [--thresholds 0.3,0.35,0.4,0.45] [--cam-curve-interval 0.001] [--out <report dir>]
//                   [--json <file>] [--save-scoremaps <dir>] [--batch-size N] [--workers N] [--device cpu]
//
// The interface is fixed (scripts depend on it) and documented in docs/eval.md. Exit status: 0 on
// success, 2 for usage errors, 1 for failures (one line on stderr naming the file and problem).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "engine/error.h"
#include "engine/file_util.h"
#include "eval/overlay.h"
#include "eval/report.h"
#include "train/progress.h"
#include "train/datasets.h"
#include "train/evaluate.h"
#include "train/inference.h"
#include "train/report.h"

namespace {

struct ScoreMapArgs {
    wsol::eval::ScoreMapEvalOptions options;
    std::string json_path, csv_path, images_root, overlay_dir;
    size_t overlay_limit = 0;
    bool progress = false;
};

// "val/n01/x.JPEG" at index 7 -> "000007_val_n01_x.png": unique, flat and safe as a file name.
std::string overlay_name(size_t index, const std::string& image_id) {
    std::string stem = wsol::eval::strip_extension(image_id);
    for (char& c : stem) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
    }
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%06zu_", index);
    return prefix + stem + ".png";
}

int run_scoremaps(const ScoreMapArgs& args) {
    namespace ev = wsol::eval;
    using wsol::train::ProgressBar;
    wsol::train::ProgressStyle style;
    style.rate_unit = "maps/s";
    ProgressBar bar("evaluating", 0, args.progress || ProgressBar::stderr_is_terminal(), style);
    ev::ScoreMapEvalOptions options = args.options;
    options.progress = [&bar](int64_t done, int64_t total) {
        bar.set_total(total);
        bar.update(done, done);
    };
    const ev::ScoreMapEvalResult result = ev::evaluate_score_maps(options);
    bar.finish();
    std::cout << ev::score_map_report_table(result) << std::flush;
    if (!args.json_path.empty()) {
        wsol::write_file_atomic(args.json_path, ev::score_map_report_json(result, options).dump(2) + "\n");
    }
    if (!args.csv_path.empty() || !args.overlay_dir.empty()) {
        WSOL_CHECK(result.boxes.has_value(), "--csv and --overlays need box metadata (localization.txt with boxes)");
        const size_t limit = args.csv_path.empty() ? args.overlay_limit : 0;
        const std::vector<ev::ImageDetail> details = ev::box_details(options, result, limit);
        if (!args.csv_path.empty()) wsol::write_file_atomic(args.csv_path, ev::box_details_csv(details));
        if (!args.overlay_dir.empty()) {
            std::filesystem::create_directories(args.overlay_dir);
            const size_t count = args.overlay_limit > 0 ? std::min(args.overlay_limit, details.size()) : details.size();
            std::vector<ev::ImageDetail> shown(details.begin(), details.begin() + std::ptrdiff_t(count));
            std::vector<std::string> names;
            ProgressBar overlay_bar("overlays", int64_t(shown.size()), args.progress || ProgressBar::stderr_is_terminal(),
                                    style);
            for (size_t k = 0; k < shown.size(); ++k) {
                const ev::ImageDetail& d = shown[k];
                names.push_back(overlay_name(d.index, d.image_id));
                const ev::ScoreMap map = ev::load_score_map(ev::score_map_path(options, d.image_id));
                ev::write_overlay_png(args.overlay_dir + "/" + names.back(), args.images_root + "/" + d.image_id, map, d);
                overlay_bar.update(int64_t(k + 1), int64_t(k + 1));
            }
            overlay_bar.finish();
            ev::write_overlay_index(args.overlay_dir, shown, names, "wsol-eval: " + options.scoremap_dir);
        }
    }
    return 0;
}

struct ModelArgs {
    std::string checkpoint, data, metadata, split = "test", protocol = "both", out_dir, json_path;
    wsol::train::LoadOptions load;
    wsol::train::EvalOptions options;
    bool progress = false;
};

int run_model(ModelArgs& args) {
    namespace tr = wsol::train;
    tr::LoadedModel model = tr::load_model(args.checkpoint, args.load);
    wsol::data::ReadOptions read;
    read.skip_bad = args.options.skip_bad_images;
    const tr::Splits splits = tr::find_splits(args.data, args.metadata, read);
    const std::shared_ptr<const wsol::data::Dataset> split =
        args.split == "train" ? splits.train : args.split == "val" ? splits.val : splits.test;
    WSOL_CHECK(split != nullptr, args.data, ": no ", args.split, " split (", splits.describe(), ")");
    tr::EvalOptions& o = args.options;
    o.legacy = args.protocol != "wsoleval";
    o.wsoleval = args.protocol != "legacy";
    o.resize = model.resize;
    o.crop = model.crop;
    o.mask_root = splits.mask_root;
    if (!args.out_dir.empty() && o.keep_examples == 0) o.keep_examples = 48;
    using wsol::train::ProgressBar;
    std::unique_ptr<ProgressBar> bar;
    std::string stage_shown;
    o.progress = [&](const std::string& stage, int64_t done, int64_t total) {
        if (stage != stage_shown) {
            bar.reset();  // ends the previous stage's line
            bar = std::make_unique<ProgressBar>(stage, total, args.progress || ProgressBar::stderr_is_terminal());
            stage_shown = stage;
        }
        bar->set_total(total);
        bar->update(done, done);
    };
    std::printf("wsol-eval: %s (%s) on the %s split of %s\n", model.method->describe().dump().c_str(), model.how.c_str(),
                args.split.c_str(), splits.describe().c_str());
    const tr::EvalReport report = tr::evaluate(*model.method, split, o);
    bar.reset();
    std::cout << report.table() << "\n" << tr::headline(report) << std::flush;
    const nlohmann::json settings = {{"checkpoint", args.checkpoint}, {"model", model.method->describe()},
                                     {"dataset", splits.describe()}, {"split", args.split},
                                     {"resize", o.resize}, {"crop", o.crop}, {"legacy_thresholds", o.legacy_thresholds},
                                     {"cam_curve_interval", o.cam_curve_interval}};
    if (!args.json_path.empty()) {
        nlohmann::ordered_json j = report.to_json();
        j["settings"] = settings;
        wsol::write_file_atomic(args.json_path, j.dump(2) + "\n");
    }
    if (!args.out_dir.empty()) {
        tr::write_eval_report(args.out_dir, report, settings, "wsol-eval: " + args.checkpoint);
        std::printf("report: %s/report.html\n", args.out_dir.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"wsol-eval: weakly supervised object localization metrics (MaxBoxAcc, MaxBoxAccV2, PxAP)"};
    app.require_subcommand(1);
    ScoreMapArgs sm;
    CLI::App* scoremaps = app.add_subcommand("scoremaps", "Evaluate saved score maps (.npy) against wsolevaluation "
                                                          "metadata");
    scoremaps->add_option("--metadata", sm.options.metadata_dir,
                          "Folder with image_ids.txt, class_labels.txt, image_sizes.txt, localization.txt")
        ->required()
        ->check(CLI::ExistingDirectory);
    scoremaps->add_option("--scoremaps", sm.options.scoremap_dir,
                          "Folder of score maps: <image_id without extension>.npy, float32/float64 HxW in [0, 1]")
        ->required()
        ->check(CLI::ExistingDirectory);
    scoremaps->add_option("--cam-curve-interval", sm.options.cam_curve_interval,
                          "CAM threshold step: thresholds are numpy.arange(0, 1, step)")
        ->capture_default_str()
        ->check(CLI::Range(1e-6, 0.5));
    scoremaps->add_option("--json", sm.json_path, "Write the metrics, curves and settings as JSON");
    scoremaps->add_option("--csv", sm.csv_path, "Write per-image boxes, IoUs and correctness as CSV");
    scoremaps->add_option("--masks", sm.options.mask_root,
                          "Folder the mask paths of localization.txt are relative to (PxAP; OpenImages: "
                          "<dataset>/OpenImages)")
        ->check(CLI::ExistingDirectory);
    CLI::Option* images = scoremaps->add_option("--images", sm.images_root,
                                                "Dataset image root (image ids are relative to it), for --overlays")
                              ->check(CLI::ExistingDirectory);
    scoremaps->add_option("--overlays", sm.overlay_dir, "Write overlay PNGs and an index.html into this folder")
        ->needs(images);
    scoremaps->add_option("--overlay-limit", sm.overlay_limit, "Overlay only the first N images (0: all)")
        ->capture_default_str();
    scoremaps->add_flag("--keep-extension", sm.options.keep_extension,
                        "Score maps are named <image_id>.npy (as wsolevaluation's inference.py writes them)");
    scoremaps->add_flag("--skip-bad", sm.options.skip_bad,
                        "Skip (and count) images whose score map or mask is missing or invalid instead of failing");
    scoremaps->add_option("--threads", sm.options.threads, "Worker threads (0: OpenMP default)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    scoremaps->add_flag("--progress", sm.progress, "Show the progress bar even when stderr is not a terminal");

    ModelArgs ma;
    CLI::App* model = app.add_subcommand("model", "Run a model on a dataset and report both localization protocols");
    model->add_option("--checkpoint", ma.checkpoint, "wsol checkpoint, or a public .pth/.safetensors with --method")
        ->required()
        ->check(CLI::ExistingFile);
    model->add_option("--method", ma.load.method, "method of a public checkpoint (sat, vit)");
    model->add_option("--arch", ma.load.architecture, "architecture of a public checkpoint (default: read off its tensors)");
    model->add_option("--heads", ma.load.num_heads, "attention heads of a public checkpoint of a custom width (default: width/64)");
    model->add_option("--data", ma.data, "dataset root: CUB_200_2011, ILSVRC, or a wsol-synth output")
        ->required()
        ->check(CLI::ExistingDirectory);
    model->add_option("--metadata", ma.metadata, "wsolevaluation metadata with train/ val/ test/ (default: next to --data)");
    model->add_option("--split", ma.split, "train, val or test")->capture_default_str()->check(CLI::IsMember({"train", "val", "test"}));
    model->add_option("--protocol", ma.protocol, "both, legacy (SAT/CSFN/TS-CAM) or wsoleval (MaxBoxAcc/V2)")
        ->capture_default_str()
        ->check(CLI::IsMember({"both", "legacy", "wsoleval"}));
    model->add_option("--thresholds", ma.options.legacy_thresholds, "legacy protocol thresholds")->delimiter(',')->capture_default_str();
    model->add_option("--cam-curve-interval", ma.options.cam_curve_interval, "MaxBoxAcc threshold step")
        ->capture_default_str()
        ->check(CLI::Range(1e-6, 0.5));
    model->add_option("--batch-size", ma.options.batch_size)->capture_default_str()->check(CLI::PositiveNumber);
    model->add_option("--workers", ma.options.workers, "image decoding threads")->capture_default_str();
    model->add_option("--device", ma.load.device, "cpu or cuda[:N]")->capture_default_str();
    model->add_option("--max-images", ma.options.max_images, "evaluate only the first N images (0: all)");
    model->add_option("--out", ma.out_dir, "write report.json, report.txt, report.html and overlays here");
    model->add_option("--overlay-limit", ma.options.keep_examples, "overlays for the first N images (with --out)");
    model->add_option("--json", ma.json_path, "write every metric and curve as JSON");
    model->add_option("--save-scoremaps", ma.options.scoremap_dir,
                      "also write each image's wsolevaluation map as <dir>/<image id without extension>.npy");
    model->add_flag("--skip-bad-images", ma.options.skip_bad_images, "skip (and count) unreadable images");
    model->add_flag("--progress", ma.progress, "show progress even when stderr is not a terminal");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    try {
        if (*scoremaps) return run_scoremaps(sm);
        if (*model) return run_model(ma);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsol-eval: %s\n", e.what());
        return 1;
    }
    return 2;
}
