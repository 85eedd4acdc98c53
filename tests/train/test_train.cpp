// wsol-train's library: configuration, public checkpoint conversion, the training loop's checkpoints
// and bit-identical resume, non-finite losses, and the evaluation runner.
#include <filesystem>
#include <fstream>

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

    // Stopping in the middle of an epoch resumes just as exactly.
    c.out = base + "/mid";
    c.max_steps = steps_per_epoch + 1;
    train::Trainer(c).run();
    train::Trainer::resume(c.out, {{"max_steps", 0}})->run();
    expect_identical(final_weights(base + "/straight"), final_weights(base + "/mid"));
    // The step log has every step exactly once.
    std::ifstream log(base + "/mid/train_log.jsonl");
    int64_t lines = 0;
    for (std::string line; std::getline(log, line);) ++lines;
    EXPECT_EQ(lines, straight.steps);

    // The optimizer state is part of the checkpoint; what cannot change on resume is refused.
    EXPECT_FALSE(nn::load_checkpoint(base + "/mid/checkpoints/last.safetensors").optim.empty());
    EXPECT_WSOL_ERROR(train::Trainer::resume(base + "/mid", {{"lr", 1.0}}), "\"lr\" cannot change when resuming");
    EXPECT_WSOL_ERROR(train::Trainer(testing::tiny_sat_config(data, base + "/mid")), "already holds a run");
    fs::remove_all(base);
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
