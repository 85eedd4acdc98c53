// wsol-synth: generate a synthetic WSOL dataset (CUB official layout and/or ILSVRC with
// wsolevaluation metadata) of real JPEG files with exact boxes and masks. The generator lives in
// data/synth.h; this file only parses flags and prints the summary. Exit codes: 0 ok, 1 failure,
// 2 usage error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "data/synth.h"
#include "engine/error.h"

int main(int argc, char** argv) {
    wsol::data::SynthOptions o;
    std::string layout = "both";
    bool quiet = false;
    CLI::App app{"wsol-synth: a synthetic weakly-supervised localisation dataset (see docs/data.md)"};
    app.add_option("--out", o.out_dir, "output folder (created; must not exist unless --overwrite)")->required();
    app.add_option("--layout", layout, "cub, ilsvrc or both")->check(CLI::IsMember({"cub", "ilsvrc", "both"}));
    app.add_option("--classes", o.num_classes, "number of classes (1..630)")->capture_default_str();
    app.add_option("--train-per-class", o.train_per_class, "training images per class")->capture_default_str();
    app.add_option("--val-per-class", o.val_per_class, "wsolevaluation val (train-fullsup) images per class")
        ->capture_default_str();
    app.add_option("--test-per-class", o.test_per_class, "test images per class")->capture_default_str();
    app.add_option("--min-side", o.min_side, "smallest image side in pixels")->capture_default_str();
    app.add_option("--max-side", o.max_side, "largest image side in pixels")->capture_default_str();
    app.add_option("--min-area", o.min_area, "smallest object box area (fraction of the image)")->capture_default_str();
    app.add_option("--max-area", o.max_area, "largest object box area (fraction of the image)")->capture_default_str();
    app.add_option("--min-distractors", o.min_distractors, "fewest clutter shapes per image")->capture_default_str();
    app.add_option("--max-distractors", o.max_distractors, "most clutter shapes per image")->capture_default_str();
    app.add_option("--quality", o.jpeg_quality, "JPEG quality (1..100)")->capture_default_str();
    app.add_option("--seed", o.seed, "random seed (the dataset is a function of it)")->capture_default_str();
    app.add_option("--threads", o.threads, "worker threads (0 = all cores)")->capture_default_str();
    app.add_flag("--overwrite", o.overwrite, "replace an existing output folder");
    app.add_flag("--quiet", quiet, "no progress line");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    o.cub_layout = layout != "ilsvrc";
    o.ilsvrc_layout = layout != "cub";
    try {
        o.validate();
    } catch (const wsol::Error& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    try {
        const auto progress = [quiet](int64_t done, int64_t total) {
            if (!quiet) std::fprintf(stderr, "\r  %lld / %lld images", (long long)done, (long long)total);
        };
        const wsol::data::SynthSummary summary = wsol::data::write_synth_dataset(o, progress);
        if (!quiet) std::fprintf(stderr, "\n");
        std::cout << summary.text() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "wsol-synth: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
