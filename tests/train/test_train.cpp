// wsol-train's library: configuration, public checkpoint conversion, the training loop's checkpoints
// and bit-identical resume, non-finite losses, and the evaluation runner.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "train/inference.h"
#include "train/method.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace wsol {
namespace {

namespace fs = std::filesystem;
using testing::all_close;

// ---- configuration ---------------------------------------------------------------------------

TEST(TrainConfig, PresetsFollowTheSeedRecipes) {
    const train::TrainConfig seed = train::preset("sat-cub-seed");
    EXPECT_EQ(seed.schedule, "constant");  // the cosine schedule of the seed is never applied
    EXPECT_TRUE(seed.decay_tokens);        // its no-decay list is hidden by DataParallel
    EXPECT_DOUBLE_EQ(seed.lr, 1e-4);
    EXPECT_EQ(seed.batch_size, 256);
    EXPECT_EQ(seed.epochs, 30);
    EXPECT_DOUBLE_EQ(seed.model["area_threshold"].get<double>(), 0.25);
    EXPECT_DOUBLE_EQ(seed.model["drop_path"].get<double>(), 0.1);
    const train::TrainConfig fixed = train::preset("sat-cub");
    EXPECT_EQ(fixed.schedule, "cosine");
    EXPECT_FALSE(fixed.decay_tokens);
    const train::TrainConfig ilsvrc = train::preset("sat-ilsvrc-seed");
    EXPECT_DOUBLE_EQ(ilsvrc.lr, 1.5e-5);
    EXPECT_EQ(ilsvrc.epochs, 1);
    EXPECT_DOUBLE_EQ(ilsvrc.model["area_threshold"].get<double>(), 0.35);
    EXPECT_WSOL_ERROR(train::preset("sat-cubb"), "unknown preset 'sat-cubb'");
}

TEST(TrainConfig, MergeValidatesKeysAndValues) {
    train::TrainConfig c = train::preset("sat-cub");
    c.merge({{"lr", 3e-4}, {"model", {{"area_threshold", 0.3}}}});
    EXPECT_DOUBLE_EQ(c.lr, 3e-4);
    EXPECT_DOUBLE_EQ(c.model["area_threshold"].get<double>(), 0.3);
    EXPECT_EQ(c.model["method"], "sat");  // merging into the model keeps its other keys
    EXPECT_WSOL_ERROR(c.merge({{"learning_rate", 1}}), "unknown key \"learning_rate\"");
    EXPECT_WSOL_ERROR(c.merge({{"epochs", "many"}}), "bad value for \"epochs\"");
    c.schedule = "linear";
    EXPECT_WSOL_ERROR(c.validate(), "schedule must be constant, cosine or step");
    // The JSON form round-trips.
    train::TrainConfig back;
    back.merge(train::preset("sat-ilsvrc").to_json());
    EXPECT_EQ(back.to_json(), train::preset("sat-ilsvrc").to_json());
}

TEST(Methods, RegistryAndDescriptions) {
    EXPECT_WSOL_ERROR(train::make_method({{"method", "cam2"}}, 0), "unknown method 'cam2'");
    EXPECT_WSOL_ERROR(train::make_method({{"method", "sat"}, {"num_classes", 3}, {"eps", 1}}, 0), "unknown key \"eps\"");
    auto sat = train::make_method({{"method", "sat"}, {"architecture", "custom"}, {"embed_dim", 16}, {"depth", 2},
                                   {"num_heads", 2}, {"patch_size", 8}, {"image_size", 32}, {"num_classes", 3},
                                   {"gated_blocks", 1}},
                                  0);
    EXPECT_EQ(sat->describe()["area_threshold"], 0.25);  // defaults are written into the description
    Generator gen(1);
    NoGradGuard g;
    train::Prediction p = sat->predict(rand_normal({2, 3, 32, 32}, gen));
    EXPECT_EQ(p.logits.shape(), (Shape{2, 3}));
    EXPECT_EQ(p.maps.shape(), (Shape{2, 4, 4}));
}

// SAT's spatial token from a pretrained classifier: "random" (SAT's way) leaves it as initialised,
// "cls" copies the class token and the class token's position embedding; the head never transfers.
TEST(Methods, SatLocInitFromTheClassToken) {
    const nlohmann::json arch = {{"architecture", "custom"}, {"embed_dim", 16}, {"depth", 2}, {"num_heads", 2},
                                 {"patch_size", 8},          {"image_size", 32}, {"num_classes", 3}};
    nlohmann::json vit_description = arch;
    vit_description["method"] = "vit";
    auto vit = train::make_method(vit_description, 5);
    NamedTensors backbone = vit->model().state_dict();
    const auto tensor = [](const NamedTensors& state, const std::string& name) {
        for (const auto& [n, t] : state) {
            if (n == name) return t;
        }
        throw std::runtime_error("no " + name);
    };
    const std::vector<float> cls = tensor(backbone, "cls_token").to_vector<float>();
    const std::vector<float> pos = tensor(backbone, "pos_embed").to_vector<float>();
    const std::vector<float> cls_pos(pos.begin(), pos.begin() + 16);  // row 0 of (1, 1 + P, 16)

    nlohmann::json sat_description = arch;
    sat_description["method"] = "sat";
    sat_description["gated_blocks"] = 1;
    sat_description["loc_init"] = "cls";
    auto sat = train::make_method(sat_description, 0);
    EXPECT_NE(sat->load_pretrained(backbone).find("copied from cls_token"), std::string::npos);
    const NamedTensors loaded = sat->model().state_dict();
    EXPECT_EQ(tensor(loaded, "loc_token").to_vector<float>(), cls);
    EXPECT_EQ(tensor(loaded, "loc_embed").to_vector<float>(), cls_pos);
    EXPECT_EQ(tensor(loaded, "cls_token").to_vector<float>(), cls);

    sat_description["loc_init"] = "random";
    auto plain = train::make_method(sat_description, 0);
    const std::vector<float> before = tensor(plain->model().state_dict(), "loc_token").to_vector<float>();
    plain->load_pretrained(backbone);
    EXPECT_EQ(tensor(plain->model().state_dict(), "loc_token").to_vector<float>(), before);
    EXPECT_EQ(plain->describe()["loc_init"], "random");

    sat_description["loc_init"] = "mean";
    EXPECT_WSOL_ERROR(train::make_method(sat_description, 0), "loc_init must be random or cls");
}

// ---- public checkpoints: timm's weights in the three .pth containers -> same logits as timm ------

TEST(Conversion, PublicCheckpointsInEveryContainerMatchTimm) {
    const TensorFile fx = load_safetensors(testing::fixture_path("models/vit_tiny.safetensors"));
    train::LoadOptions o;
    o.method = "vit";
    o.image_size = 32;
    o.description = {{"architecture", "custom"}, {"embed_dim", 32}, {"depth", 3}, {"num_heads", 2}, {"patch_size", 8}};
    for (const char* container : {"zip", "legacy", "tar"}) {
        SCOPED_TRACE(container);
        const std::string path = testing::fixture_path(std::string("models/vit_tiny_") + container + ".pth");
        train::LoadedModel m = train::load_model(path, o);
        NoGradGuard g;
        const train::Prediction p = m.method->predict(fx.at("out.input"));
        EXPECT_TRUE(all_close(p.logits, fx.at("out.logits"), 0.0, 1e-4));
        // ... and through a wsol checkpoint written by the converter.
        const std::string out = ::testing::TempDir() + "/converted_" + container + ".safetensors";
        train::save_model(out, m);
        train::LoadedModel again = train::load_model(out);
        EXPECT_TRUE(all_close(again.method->predict(fx.at("out.input")).logits, p.logits, 0.0, 0.0));
        fs::remove(out);
    }
    // The architecture read off the tensors alone; only the head count is given (width 32 is no
    // multiple of 64, the usual head width).
    train::LoadOptions inferred;
    inferred.method = "vit";
    inferred.num_heads = 2;
    const std::string zip = testing::fixture_path("models/vit_tiny_zip.pth");
    train::LoadedModel m = train::load_model(zip, inferred);
    const nlohmann::json d = m.method->describe();
    EXPECT_EQ(d.at("architecture"), "custom");
    EXPECT_EQ(d.at("embed_dim"), 32);
    EXPECT_EQ(d.at("depth"), 3);
    EXPECT_EQ(d.at("patch_size"), 8);
    EXPECT_EQ(d.at("image_size"), 32);
    EXPECT_EQ(d.at("num_classes"), 10);
    EXPECT_EQ(d.at("mlp_ratio"), 4.0);
    {
        NoGradGuard g;
        EXPECT_TRUE(all_close(m.method->predict(fx.at("out.input")).logits, fx.at("out.logits"), 0.0, 1e-4));
    }
    inferred.num_heads = 0;
    EXPECT_WSOL_ERROR(train::load_model(zip, inferred), "width 32 is not a multiple of 64");
    inferred.num_heads = 3;
    EXPECT_WSOL_ERROR(train::load_model(zip, inferred), "3 attention heads do not divide the width 32");
    inferred.num_heads = 2;
    inferred.image_size = 64;  // not the size the position embedding was trained at
    EXPECT_WSOL_ERROR(train::load_model(zip, inferred), "pos_embed");

    o.method = "";
    EXPECT_WSOL_ERROR(train::load_model(testing::fixture_path("models/vit_tiny_zip.pth"), o), "give --method");
    o.method = "sat";
    EXPECT_WSOL_ERROR(train::load_model(testing::fixture_path("models/vit_tiny_zip.pth"), o), "missing keys");
}

// ---- the training loop -------------------------------------------------------------------------

NamedTensors final_weights(const std::string& run) {
    return nn::load_checkpoint(run + "/checkpoints/last.safetensors").model;
}

void expect_identical(const NamedTensors& a, const NamedTensors& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].first, b[i].first);
        EXPECT_EQ(a[i].second.to_vector<float>(), b[i].second.to_vector<float>()) << a[i].first;
    }
}

TEST(Trainer, ResumeIsBitIdentical) {
    const std::string data = testing::synthetic_dataset("resume", 3, 8, 2, 3);
    const std::string base = ::testing::TempDir() + "/wsol_resume_runs";
    fs::remove_all(base);

    // Two epochs straight.
    train::TrainConfig c = testing::tiny_sat_config(data, base + "/straight");
    train::TrainResult straight = train::Trainer(c).run();
    EXPECT_EQ(straight.epochs_completed, 2);
    const int64_t steps_per_epoch = straight.steps / 2;

    // One epoch, stop, resume, one more.
    c.out = base + "/split";
    c.max_steps = steps_per_epoch;
    train::TrainResult first = train::Trainer(c).run();
    EXPECT_EQ(first.steps, steps_per_epoch);
    train::TrainResult rest = train::Trainer::resume(c.out, {{"max_steps", 0}})->run();
    EXPECT_EQ(rest.steps, straight.steps);
    expect_identical(final_weights(base + "/straight"), final_weights(base + "/split"));

    // Stopping in the middle of an epoch resumes just as exactly, even when the process was killed
    // while writing its logs: half-written last lines (and lines logged past the checkpoint) go.
    c.out = base + "/mid";
    c.max_steps = steps_per_epoch + 1;
    train::Trainer(c).run();
    {
        std::ofstream(base + "/mid/train_log.jsonl", std::ios::app) << "{\"step\": 999, \"epoch\": 1}\n{\"step\": 10";
        std::ofstream(base + "/mid/epochs.csv", std::ios::app) << "1,9";
        std::ofstream(base + "/mid/eval_log.jsonl", std::ios::app) << "{\"epoch\": 1, \"val";
    }
    train::Trainer::resume(c.out, {{"max_steps", 0}})->run();
    expect_identical(final_weights(base + "/straight"), final_weights(base + "/mid"));
    // The step log has every step exactly once.
    std::ifstream log(base + "/mid/train_log.jsonl");
    int64_t lines = 0;
    for (std::string line; std::getline(log, line);) ++lines;
    EXPECT_EQ(lines, straight.steps);
    // ... and the epoch table one header and one row per epoch.
    std::ifstream csv(base + "/mid/epochs.csv");
    std::vector<std::string> rows;
    for (std::string line; std::getline(csv, line);) rows.push_back(line);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].rfind("epoch,steps,", 0), 0u);
    EXPECT_EQ(rows[1].rfind("0,", 0), 0u);
    EXPECT_EQ(rows[2].rfind("1,", 0), 0u);

    // The optimizer state is part of the checkpoint; what cannot change on resume is refused.
    EXPECT_FALSE(nn::load_checkpoint(base + "/mid/checkpoints/last.safetensors").optim.empty());
    EXPECT_WSOL_ERROR(train::Trainer::resume(base + "/mid", {{"lr", 1.0}}), "\"lr\" cannot change when resuming");
    EXPECT_WSOL_ERROR(train::Trainer(testing::tiny_sat_config(data, base + "/mid")), "already holds a run");
    fs::remove_all(base);
}

TEST(Trainer, SelectsOnValWithBothProtocolsAndStoresTheThreshold) {
    const std::string data = testing::synthetic_dataset("resume", 3, 8, 2, 3);
    const std::string out = ::testing::TempDir() + "/wsol_select_run";
    fs::remove_all(out);
    train::TrainConfig c = testing::tiny_sat_config(data, out);
    c.epochs = 1;
    c.select_split = "val";
    c.select_metric = "maxboxacc_v2";
    train::TrainResult r = train::Trainer(c).run();
    EXPECT_EQ(r.best_epoch, 0);
    // The held-out evaluation ran both protocols, whichever metric selects.
    std::ifstream log(out + "/eval_log.jsonl");
    std::string line;
    ASSERT_TRUE(std::getline(log, line));
    const nlohmann::json entry = nlohmann::json::parse(line);
    EXPECT_EQ(entry["split"], "val");
    EXPECT_TRUE(entry["report"].contains("legacy"));
    EXPECT_TRUE(entry["report"].contains("wsolevaluation"));
    // The best checkpoint carries the legacy threshold that did best on val (wsol-infer's default),
    // one of the configured thresholds; a conversion keeps it.
    const nn::Checkpoint best = nn::load_checkpoint(out + "/checkpoints/best.safetensors");
    ASSERT_TRUE(best.meta.contains("legacy_threshold"));
    const double threshold = best.meta["legacy_threshold"].get<double>();
    EXPECT_NE(std::find(c.legacy_thresholds.begin(), c.legacy_thresholds.end(), threshold), c.legacy_thresholds.end());
    train::LoadedModel model = train::load_model(out + "/checkpoints/best.safetensors");
    train::save_model(out + "/converted.safetensors", model);
    EXPECT_EQ(nn::load_checkpoint(out + "/converted.safetensors").meta.value("legacy_threshold", -1.0), threshold);
    fs::remove_all(out);
    // Checkpoints are never selected on the test split.
    c.select_split = "test";
    EXPECT_WSOL_ERROR(c.validate(), "never selected on the test split");
}

TEST(Trainer, SkippedTrainingImagesAreReported) {
    const std::string clean = testing::synthetic_dataset("resume", 3, 8, 2, 3);
    const std::string data = ::testing::TempDir() + "/wsol_skip_data";
    const std::string out = ::testing::TempDir() + "/wsol_skip_run";
    fs::remove_all(data);
    fs::remove_all(out);
    fs::copy(clean, data, fs::copy_options::recursive);
    // Truncate the first training image (train_test_split.txt: "<id> 1") to a few bytes.
    const std::string cub = data + "/CUB_200_2011";
    std::ifstream split(cub + "/train_test_split.txt"), images(cub + "/images.txt");
    std::string id, flag, train_id;
    while (split >> id >> flag) {
        if (flag == "1") {
            train_id = id;
            break;
        }
    }
    ASSERT_FALSE(train_id.empty());
    std::string image_id, image_path, bad, bad_name;
    while (images >> image_id >> image_path) {
        if (image_id == train_id) {
            bad = cub + "/images/" + image_path;
            bad_name = fs::path(image_path).filename().string();
        }
    }
    ASSERT_TRUE(fs::exists(bad)) << bad;
    fs::resize_file(bad, 20);
    train::TrainConfig c = testing::tiny_sat_config(data, out);
    c.epochs = 1;
    EXPECT_WSOL_ERROR(train::Trainer(c).run(), bad_name);
    fs::remove_all(out);
    c.skip_bad_images = true;
    train::Trainer(c).run();
    std::ifstream report(out + "/skipped_images.txt");
    std::string line;
    ASSERT_TRUE(std::getline(report, line)) << "no skipped_images.txt";
    EXPECT_NE(line.find(bad_name), std::string::npos) << line;
    EXPECT_FALSE(std::getline(report, line)) << "one bad image, one line";
    fs::remove_all(out);
    fs::remove_all(data);
}

TEST(Trainer, NonFiniteLossStopsWithTheStep) {
    const std::string data = testing::synthetic_dataset("resume", 3, 8, 2, 3);
    const std::string out = ::testing::TempDir() + "/wsol_nan_run";
    fs::remove_all(out);
    train::TrainConfig c = testing::tiny_sat_config(data, out);
    c.lr = 1e30;  // AdamW's first step moves every weight by ~lr: the next loss is not finite
    c.schedule = "constant";
    EXPECT_WSOL_ERROR(train::Trainer(c).run(), "the loss is");
    fs::remove_all(out);
    c.skip_nonfinite = true;
    train::TrainResult r = train::Trainer(c).run();  // skips instead of stopping
    EXPECT_EQ(r.epochs_completed, 2);
    fs::remove_all(out);
}

TEST(Trainer, BadDatasetsAreClearErrors) {
    const std::string empty = ::testing::TempDir() + "/wsol_not_a_dataset";
    fs::create_directories(empty);
    EXPECT_WSOL_ERROR(train::Trainer(testing::tiny_sat_config(empty, empty + "/run")), "is neither a CUB_200_2011");
    EXPECT_WSOL_ERROR(train::Trainer(testing::tiny_sat_config(empty + "/missing", empty + "/run")), "is not a folder");
}

}  // namespace
}  // namespace wsol
