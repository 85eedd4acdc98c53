// Helpers for the training tests: a small synthetic dataset written once per test binary, and a
// tiny SAT configuration that trains in seconds.
#pragma once

#include <filesystem>
#include <mutex>

#include "data/synth.h"
#include "support/testing.h"
#include "train/config.h"

namespace wsol::testing {

// A wsol-synth dataset under the test temp dir (written on first use, then reused).
inline std::string synthetic_dataset(const std::string& name, int classes, int train_per_class, int val_per_class,
                                     int test_per_class, int min_side = 96, int max_side = 128, uint64_t seed = 0) {
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string out = ::testing::TempDir() + "/wsol_" + name;
    if (!std::filesystem::exists(out + "/metadata")) {
        std::filesystem::remove_all(out);
        data::SynthOptions o;
        o.out_dir = out;
        o.ilsvrc_layout = false;
        o.num_classes = classes;
        o.train_per_class = train_per_class;
        o.val_per_class = val_per_class;
        o.test_per_class = test_per_class;
        o.min_side = min_side;
        o.max_side = max_side;
        o.seed = seed;
        o.threads = 2;
        data::write_synth_dataset(o, {});
    }
    return out;
}

// SAT on 32x32 crops with a 2-block, 32-wide ViT: seconds per epoch.
inline train::TrainConfig tiny_sat_config(const std::string& data, const std::string& out) {
    train::TrainConfig c = train::preset("sat-synth");
    c.model = {{"method", "sat"},    {"architecture", "custom"}, {"embed_dim", 32},     {"depth", 2},
               {"num_heads", 2},      {"patch_size", 8},          {"image_size", 32},    {"gated_blocks", 1},
               {"area_threshold", 0.25}, {"drop_path", 0.1}};
    c.resize = 40;
    c.crop = 32;
    c.batch_size = 8;
    c.epochs = 2;
    c.workers = 2;
    c.data = data;
    c.out = out;
    c.select_split = "";
    c.final_test = false;
    c.progress = false;
    return c;
}

}  // namespace wsol::testing
