// wsol-synth -> wsol-train -> wsol-infer as a user runs them: the built binaries on a tiny synthetic
// dataset, checking exit statuses (0 ok, 1 failure with one line on stderr, 2 usage), the files of a
// run folder, the threshold wsol-infer takes from the checkpoint, and its JSON and overlay. In
// tests/learning (labelled slow, so the sanitizer pass leaves it out) as it trains for a few seconds.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "nn/checkpoint.h"
#include "support/command.h"
#include "support/testing.h"

namespace wsol {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::run_app;

TEST(WsolTrainInfer, TrainThenInferOnASyntheticDataset) {
    const std::string root = std::string(::testing::TempDir()) + "wsol_apps_" + std::to_string(::getpid());
    fs::remove_all(root);
    const std::string data = root + "/data", run = root + "/run";
    CommandResult r = run_app("wsol-synth", "--out " + data + " --layout cub --classes 3 --train-per-class 8 "
                                            "--val-per-class 2 --test-per-class 2 --min-side 64 --max-side 80 "
                                            "--threads 2 --quiet");
    ASSERT_EQ(r.status, 0) << r.out;

    // One epoch of the synthetic preset, selected on val, reported on test.
    r = run_app("wsol-train", "--preset sat-synth --data " + data + " --out " + run +
                                  " --epochs 1 --batch-size 8 --workers 2 --no-progress");
    ASSERT_EQ(r.status, 0) << r.out;
    for (const char* file : {"config.json", "train_log.jsonl", "epochs.csv", "eval_log.jsonl",
                             "checkpoints/last.safetensors", "checkpoints/best.safetensors", "report/report.json",
                             "report/curves.png", "report/report.html"}) {
        EXPECT_TRUE(fs::exists(run + "/" + file)) << file << "\n" << r.out;
    }
    const nlohmann::json report = nlohmann::json::parse(std::ifstream(run + "/report/report.json"));
    EXPECT_TRUE(report.contains("legacy") && report.contains("wsolevaluation")) << report.dump().substr(0, 300);
    const nn::Checkpoint best = nn::load_checkpoint(run + "/checkpoints/best.safetensors");
    ASSERT_TRUE(best.meta.contains("legacy_threshold"));
    const double threshold = best.meta["legacy_threshold"].get<double>();

    // wsol-infer on two test images: top classes, a box inside the image, the stored threshold.
    std::vector<std::string> images;
    for (const auto& entry : fs::recursive_directory_iterator(data + "/CUB_200_2011/images")) {
        if (entry.path().extension() == ".jpg" && images.size() < 2) images.push_back(entry.path().string());
    }
    ASSERT_EQ(images.size(), 2u);
    const std::string json = root + "/predictions.json", overlays = root + "/overlays";
    r = run_app("wsol-infer", "--checkpoint " + run + "/checkpoints/best.safetensors " + images[0] + " " + images[1] +
                                  " --top 3 --json " + json + " --out " + overlays);
    ASSERT_EQ(r.status, 0) << r.out;
    const nlohmann::json predictions = nlohmann::json::parse(std::ifstream(json));
    ASSERT_EQ(predictions.size(), 2u);
    for (const nlohmann::json& p : predictions) {
        EXPECT_EQ(p["top"].size(), 3u);
        double total = 0.0;
        for (const nlohmann::json& c : p["top"]) total += c["probability"].get<double>();
        EXPECT_NEAR(total, 1.0, 1e-4) << "three classes: the top 3 hold all the probability";
        EXPECT_DOUBLE_EQ(p["threshold"].get<double>(), threshold);
        const std::vector<double> box = p["box"].get<std::vector<double>>();
        ASSERT_EQ(box.size(), 4u);
        EXPECT_TRUE(0 <= box[0] && box[0] <= box[2] && box[2] < p["width"].get<double>()) << p.dump();
        EXPECT_TRUE(0 <= box[1] && box[1] <= box[3] && box[3] < p["height"].get<double>()) << p.dump();
        EXPECT_GT(fs::file_size(p["overlay"].get<std::string>()), 100u);
    }
    // An explicit threshold wins.
    r = run_app("wsol-infer", "--checkpoint " + run + "/checkpoints/best.safetensors " + images[0] + " --threshold 0.7");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("(threshold 0.7)"), std::string::npos) << r.out;

    // Bad input: a missing image is one line naming it, exit 1; a bad flag exits 2; checkpoints are
    // never selected on test.
    r = run_app("wsol-infer", "--checkpoint " + run + "/checkpoints/best.safetensors " + root + "/missing.jpg");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("missing.jpg"), std::string::npos) << r.out;
    r = run_app("wsol-infer", "--checkpoint " + run + "/checkpoints/best.safetensors " + images[0] + " --top 0");
    EXPECT_EQ(r.status, 2) << r.out;
    r = run_app("wsol-train", "--preset sat-synth --data " + data + " --out " + root + "/run2 --select-split test");
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("never selected on the test split"), std::string::npos) << r.out;
    if (!HasFailure()) fs::remove_all(root);
}

}  // namespace
}  // namespace wsol
