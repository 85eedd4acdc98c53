#include "train/config.h"

#include "engine/error.h"

namespace wsol::train {

// One table drives serialisation, merging and the list of known keys.
#define WSOL_TRAIN_FIELDS(X)                                                                                 \
    X(model) X(init) X(data) X(metadata) X(resize) X(crop) X(workers) X(skip_bad_images) X(optimizer) X(lr)  \
    X(weight_decay) X(momentum) X(decay_tokens) X(schedule) X(min_lr) X(warmup_epochs) X(step_epochs)      \
    X(step_gamma) X(epochs) X(batch_size) X(clip_grad) X(seed) X(select_split) X(select_metric) X(eval_every) \
    X(eval_from_epoch) X(cam_curve_interval) X(legacy_thresholds) X(final_test) X(out) X(device)            \
    X(precision) X(threads) X(skip_nonfinite) X(max_steps) X(progress)

nlohmann::json TrainConfig::to_json() const {
    nlohmann::json j;
#define WSOL_TO_JSON(field) j[#field] = field;
    WSOL_TRAIN_FIELDS(WSOL_TO_JSON)
#undef WSOL_TO_JSON
    return j;
}

void TrainConfig::merge(const nlohmann::json& j) {
    WSOL_CHECK(j.is_object(), "training config: expected a JSON object, got ", j.dump());
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        bool known = false;
        try {
#define WSOL_FROM_JSON(field)                                      \
    if (key == #field) {                                           \
        if (key == "model") {                                      \
            WSOL_CHECK(it->is_object(), "training config: \"model\" must be an object"); \
            for (auto m = it->begin(); m != it->end(); ++m) model[m.key()] = m.value(); \
        } else {                                                   \
            it->get_to(field);                                     \
        }                                                          \
        known = true;                                              \
    }
            WSOL_TRAIN_FIELDS(WSOL_FROM_JSON)
#undef WSOL_FROM_JSON
        } catch (const nlohmann::json::exception& e) {
            WSOL_FAIL("training config: bad value for \"", key, "\": ", it->dump(), " (", e.what(), ")");
        }
        WSOL_CHECK(known, "training config: unknown key \"", key, "\"");
    }
}

void TrainConfig::validate() const {
    WSOL_CHECK(lr > 0 && min_lr >= 0, "training config: lr must be positive, got ", lr);
    WSOL_CHECK(weight_decay >= 0, "training config: negative weight_decay ", weight_decay);
    WSOL_CHECK(epochs > 0 && batch_size > 0, "training config: epochs and batch_size must be positive");
    WSOL_CHECK(crop > 0 && resize >= crop, "training config: need 0 < crop <= resize, got crop ", crop, ", resize ", resize);
    WSOL_CHECK(optimizer == "adamw" || optimizer == "sgd", "training config: optimizer must be adamw or sgd, got ",
               optimizer);
    WSOL_CHECK(schedule == "constant" || schedule == "cosine" || schedule == "step",
               "training config: schedule must be constant, cosine or step, got ", schedule);
    WSOL_CHECK(precision == "float32" || precision == "bf16", "training config: precision must be float32 or bf16, got ",
               precision);
    WSOL_CHECK(select_metric == "maxboxacc_v2" || select_metric == "gt_known_loc" || select_metric == "top1_loc",
               "training config: select_metric must be maxboxacc_v2, gt_known_loc or top1_loc, got ", select_metric);
    // Selecting checkpoints on the split that is reported would inflate the reported numbers.
    WSOL_CHECK(select_split.empty() || select_split == "val", "training config: select_split must be val (the "
               "held-out split) or empty (keep the last epoch), got '", select_split, "'",
               select_split == "test" ? ": checkpoints are never selected on the test split" : "");
    WSOL_CHECK(cam_curve_interval > 0 && cam_curve_interval <= 0.5, "training config: cam_curve_interval ",
               cam_curve_interval, " is outside (0, 0.5]");
    WSOL_CHECK(eval_every >= 1, "training config: eval_every must be >= 1");
    WSOL_CHECK(warmup_epochs >= 0 && warmup_epochs <= epochs, "training config: warmup_epochs ", warmup_epochs,
               " must be within [0, epochs]");
    WSOL_CHECK(model.is_object() && model.contains("method"), "training config: the model needs a \"method\"");
}

namespace {

TrainConfig sat_cub(bool seed_quirks) {
    TrainConfig c;
    c.model = {{"method", "sat"}, {"architecture", "deit_small_patch16_224"}, {"area_threshold", 0.25},
               {"drop_path", 0.1}};
    c.lr = 1e-4;
    c.weight_decay = 0.05;
    c.batch_size = 256;
    c.epochs = 30;
    c.seed = 6;
    c.eval_from_epoch = 25;  // the seed evaluates epochs 26-30
    c.schedule = seed_quirks ? "constant" : "cosine";
    c.decay_tokens = seed_quirks;
    return c;
}

TrainConfig sat_ilsvrc(bool seed_quirks) {
    TrainConfig c = sat_cub(seed_quirks);
    c.model["area_threshold"] = 0.35;
    c.lr = 1.5e-5;
    c.batch_size = 512;
    c.epochs = 1;
    c.eval_from_epoch = 0;
    c.legacy_thresholds = {0.3};
    return c;
}

TrainConfig sat_synth() {
    // A small ViT (4 blocks, 64 wide, 8x8 patches) on 64x64 crops of a wsol-synth dataset, the last
    // three blocks gated: about 750 images/s on two CPU cores, so 15 epochs of 1,500 images take
    // about 30 s. Meant to start from vit-synth (tools/demo.sh), as SAT starts from DeiT: from
    // scratch it stays near 55% GT-known Loc. The spatial token starts as the pretrained class token
    // (loc_init "cls", see train/method_sat.cpp): with SAT's random start, the map of this tiny model
    // lands on the object or on the background almost by chance (MaxBoxAcc 57-92% on the demo's
    // data over area thresholds 0.25-0.45 and lr 1e-4 to 5e-4), and so did every result that
    // depended on it. With it, 96-98% (MaxBoxAccV2 89-95, legacy GT-known Loc 96-99) for lr 1e-4,
    // 3e-4 and 5e-4 and other seeds.
    TrainConfig c;
    c.model = {{"method", "sat"},  {"architecture", "custom"}, {"embed_dim", 64},   {"depth", 4},
               {"num_heads", 2},   {"patch_size", 8},          {"image_size", 64},  {"gated_blocks", 3},
               {"area_threshold", 0.25}, {"drop_path", 0.0},   {"loc_init", "cls"}};
    c.resize = 72;
    c.crop = 64;
    c.lr = 3e-4;
    c.weight_decay = 0.05;
    c.schedule = "cosine";
    c.warmup_epochs = 1;
    c.min_lr = 1e-5;
    c.batch_size = 32;
    c.epochs = 15;
    c.seed = 0;
    c.eval_every = 5;
    return c;
}

TrainConfig vit_synth() {
    // The classifier the demo pre-trains on the synthetic ILSVRC layout, as DeiT is pre-trained on
    // ImageNet before SAT fine-tunes it: the same ViT as sat-synth without the SAT parts.
    TrainConfig c = sat_synth();
    c.model = {{"method", "vit"},  {"architecture", "custom"}, {"embed_dim", 64},  {"depth", 4},
               {"num_heads", 2},   {"patch_size", 8},          {"image_size", 64}, {"drop_path", 0.0}};
    c.lr = 1e-3;
    c.select_metric = "top1_loc";
    c.select_split = "";  // the last epoch
    return c;
}

}  // namespace

TrainConfig preset(const std::string& name) {
    if (name == "sat-cub") return sat_cub(false);
    if (name == "sat-cub-seed") return sat_cub(true);
    if (name == "sat-ilsvrc") return sat_ilsvrc(false);
    if (name == "sat-ilsvrc-seed") return sat_ilsvrc(true);
    if (name == "sat-synth") return sat_synth();
    if (name == "vit-synth") return vit_synth();
    std::string known;
    for (const std::string& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    WSOL_FAIL("unknown preset '", name, "' (known: ", known, ")");
}

std::vector<std::string> preset_names() {
    return {"sat-cub", "sat-cub-seed", "sat-ilsvrc", "sat-ilsvrc-seed", "sat-synth", "vit-synth"};
}

}  // namespace wsol::train
