#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "data/loader.h"
#include "engine/file_util.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "ops/ops.h"
#include "train/plot.h"
#include "train/progress.h"
#include "train/report.h"

namespace wsol::train {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop_requested{false};

// Keeps the lines of a log for which keep(line) holds: on resume, steps logged after the checkpoint
// (and before a crash) would otherwise appear twice. A process killed while writing may also have
// left a half-written last line; `keep` must reject such a line rather than throw.
void trim_log(const std::string& path, const std::function<bool(const std::string&)>& keep) {
    if (!fs::exists(path)) return;
    std::istringstream in(read_file(path));
    std::string line, out;
    while (std::getline(in, line)) {
        if (!line.empty() && keep(line)) out += line + "\n";
    }
    write_file_atomic(path, out);
}

// The integer field `key` of a JSON-lines log line; nullopt when the line is not a complete JSON
// object or lacks the field (a line cut short by a kill).
std::optional<int64_t> json_line_int(const std::string& line, const char* key) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
    return j[key].get<int64_t>();
}

// The columns of epochs.csv; a row with fewer fields was cut short.
constexpr const char* kEpochsCsvHeader = "epoch,steps,loss,train_acc,lr,seconds,images_per_second";

std::unique_ptr<nn::LRSchedule> make_schedule(const TrainConfig& c, int64_t steps_per_epoch) {
    const int64_t total = std::max<int64_t>(1, int64_t(c.epochs) * steps_per_epoch);
    if (c.schedule == "constant") return std::make_unique<nn::ConstantLR>(c.lr);
    if (c.schedule == "step") {
        return std::make_unique<nn::StepLR>(c.lr, std::max<int64_t>(1, c.step_epochs * steps_per_epoch), c.step_gamma);
    }
    const int64_t warmup = std::min(total, int64_t(std::lround(c.warmup_epochs * double(steps_per_epoch))));
    return std::make_unique<nn::WarmupCosineLR>(c.lr, warmup, total, c.min_lr);
}

}  // namespace

void request_training_stop() { g_stop_requested.store(true); }

struct Trainer::State {
    std::unique_ptr<nn::Optimizer> optimizer;
    std::unique_ptr<nn::LRSchedule> schedule;
    std::unique_ptr<data::DataLoader> loader;
    Device device;
    // Sums over the epoch in progress (saved in checkpoints, so that a mid-epoch resume still
    // reports the whole epoch): "loss", each term, "correct", "seen", "steps".
    nlohmann::json epoch_sums = nlohmann::json::object();
    double images = 0.0, seconds = 0.0;  // training throughput
    // Curves for the plot.
    std::vector<double> step_x, step_loss;
    std::vector<double> eval_x, eval_metric;
    size_t skipped_reported = 0;  // entries of the loader's skipped() already reported
};

Trainer::Trainer(TrainConfig config) : Trainer(std::move(config), false) {}

Trainer::Trainer(TrainConfig config, bool resuming) : config_(std::move(config)), state_(std::make_unique<State>()) {
    config_.validate();
    WSOL_CHECK(!config_.out.empty(), "wsol-train: an output folder is needed (--out)");
    if (!resuming) {
        WSOL_CHECK(!fs::exists(path_in_run("checkpoints/last.safetensors")), config_.out,
                   " already holds a run; continue it with --resume ", config_.out, " or choose another --out");
    }
    build(resuming);
}

Trainer::~Trainer() = default;

std::string Trainer::path_in_run(const std::string& relative) const { return (fs::path(config_.out) / relative).string(); }

void Trainer::build(bool resuming) {
    if (config_.threads > 0) set_num_threads(config_.threads);
    state_->device = Device::parse(config_.device);
    WSOL_CHECK(config_.precision == "float32" || state_->device.is_cuda(), "wsol-train: precision ", config_.precision,
               " needs a CUDA device (bf16 autocast runs on the GPU only)");
    data::ReadOptions read;
    read.skip_bad = config_.skip_bad_images;
    splits_ = find_splits(config_.data, config_.metadata, read);
    WSOL_CHECK(splits_.train != nullptr, "wsol-train: ", config_.data, " has no training split");
    for (const auto& [name, split] : {std::pair{"train", splits_.train}, {"val", splits_.val}, {"test", splits_.test}}) {
        if (split && !split->skipped.empty()) {
            std::fprintf(stderr, "wsol-train: %s split: %s\n", name, data::skipped_summary(split->skipped).c_str());
        }
    }
    WSOL_CHECK(config_.select_split != "val" || splits_.val != nullptr || config_.select_split.empty(), "wsol-train: ",
               config_.data, " has no held-out val split to select checkpoints on; give --metadata with a val/ "
               "folder (wsolevaluation's), or --select-split '' to keep the last epoch");

    nlohmann::json description = config_.model;
    if (!description.contains("num_classes")) description["num_classes"] = splits_.num_classes;
    WSOL_CHECK(description["num_classes"].get<int64_t>() >= splits_.num_classes, "wsol-train: the model has ",
               description["num_classes"].get<int64_t>(), " classes but the dataset has ", splits_.num_classes);
    method_ = make_method(description, config_.seed);
    config_.model = method_->describe();

    if (!resuming && !config_.init.empty()) {
        if (nn::is_wsol_checkpoint(config_.init)) {
            nn::Checkpoint ckpt = nn::load_checkpoint(config_.init);
            if (ckpt.meta.value("model", nlohmann::json::object()).value("method", "") == method_->name()) {
                method_->model().load_state_dict(ckpt.model);
                init_summary_ = "initialised from the wsol checkpoint " + config_.init;
            } else {
                init_summary_ = config_.init + ": " + method_->load_pretrained(ckpt.model);
            }
        } else {
            init_summary_ = config_.init + ": " + method_->load_pretrained(load_backbone_state(config_.init));
        }
    } else if (!resuming) {
        init_summary_ = "trained from scratch (no --init)";
    }
    method_->model().to(state_->device);

    nn::Module& model = method_->model();
    const std::set<std::string> no_decay = config_.decay_tokens ? std::set<std::string>{} : method_->no_weight_decay();
    std::vector<nn::ParamGroup> groups =
        nn::make_param_groups(model.named_parameters(), config_.lr, config_.weight_decay, no_decay);
    if (config_.optimizer == "sgd") {
        state_->optimizer = std::make_unique<nn::SGD>(std::move(groups), nn::SGDOptions{config_.momentum, 0.0, false});
    } else {
        state_->optimizer = std::make_unique<nn::AdamW>(std::move(groups));
    }

    data::LoaderOptions lo;
    lo.batch_size = config_.batch_size;
    lo.shuffle = true;
    lo.seed = config_.seed;
    lo.num_workers = config_.workers;
    lo.transform = data::TransformSpec::train(config_.resize, config_.crop);
    lo.skip_bad_images = config_.skip_bad_images;
    state_->loader = std::make_unique<data::DataLoader>(splits_.train, lo);
    state_->schedule = make_schedule(config_, state_->loader->batches_per_epoch());
}

void Trainer::save_checkpoint(const std::string& path, bool with_optimizer) const {
    nn::Checkpoint ckpt;
    ckpt.model = method_->model().state_dict();
    if (with_optimizer) ckpt.optim = state_->optimizer->state();
    ckpt.meta["model"] = method_->describe();
    ckpt.meta["preprocessing"] = {{"resize", config_.resize}, {"crop", config_.crop}, {"mean", {0.485, 0.456, 0.406}},
                                  {"std", {0.229, 0.224, 0.225}}};
    if (!splits_.train->class_names.empty()) ckpt.meta["class_names"] = splits_.train->class_names;
    ckpt.meta["config"] = config_.to_json();
    ckpt.meta["position"] = {{"epoch", position_.epoch},         {"batch", position_.batch},
                             {"step", position_.step},           {"best_epoch", position_.best_epoch},
                             {"best_metric", position_.best_metric}, {"best_threshold", position_.best_threshold},
                             {"epoch_sums", state_->epoch_sums}};
    // The legacy map threshold that did best on the held-out split when the best checkpoint was
    // chosen: wsol-infer's default threshold for this model.
    if (position_.best_threshold >= 0) ckpt.meta["legacy_threshold"] = position_.best_threshold;
    const Generator& gen = method_->generator();
    ckpt.meta["generator"] = {{"seed", gen.seed()}, {"offset", gen.offset()}};
    fs::create_directories(fs::path(path).parent_path());
    nn::save_checkpoint(path, ckpt);
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir, const nlohmann::json& overrides) {
    const std::string path = (fs::path(run_dir) / "checkpoints" / "last.safetensors").string();
    WSOL_CHECK(fs::exists(path), run_dir, ": no checkpoints/last.safetensors to resume from");
    nn::Checkpoint ckpt = nn::load_checkpoint(path);
    WSOL_CHECK(ckpt.meta.contains("config") && ckpt.meta.contains("position"), path,
               ": not a training checkpoint (no config or position)");
    TrainConfig config;
    config.merge(ckpt.meta["config"]);
    static const std::set<std::string> allowed = {"out", "workers", "progress", "threads", "final_test", "max_steps"};
    for (auto it = overrides.begin(); it != overrides.end(); ++it) {
        WSOL_CHECK(allowed.count(it.key()) > 0, "--resume: \"", it.key(),
                   "\" cannot change when resuming (it would change the computation)");
    }
    config.merge(overrides);
    if (!overrides.contains("out")) config.out = run_dir;
    std::unique_ptr<Trainer> t(new Trainer(std::move(config), true));
    t->load_resume_state(path);
    return t;
}

void Trainer::load_resume_state(const std::string& path) {
    nn::Checkpoint ckpt = nn::load_checkpoint(path);
    method_->model().load_state_dict(ckpt.model);
    state_->optimizer->load_state(ckpt.optim);
    const nlohmann::json& pos = ckpt.meta.at("position");
    position_.epoch = pos.at("epoch").get<int>();
    position_.batch = pos.at("batch").get<int64_t>();
    position_.step = pos.at("step").get<int64_t>();
    position_.best_epoch = pos.at("best_epoch").get<int>();
    position_.best_metric = pos.at("best_metric").get<double>();
    position_.best_threshold = pos.value("best_threshold", -1.0);
    state_->epoch_sums = pos.value("epoch_sums", nlohmann::json::object());
    const nlohmann::json& gen = ckpt.meta.at("generator");
    method_->generator().set_state(gen.at("seed").get<uint64_t>(), gen.at("offset").get<uint64_t>());
    init_summary_ = "resumed from " + path + " at epoch " + std::to_string(position_.epoch) + ", batch " +
                    std::to_string(position_.batch) + " (step " + std::to_string(position_.step) + ")";
    const int64_t step = position_.step;
    const int epoch = position_.epoch;
    trim_log(path_in_run("train_log.jsonl"), [&](const std::string& line) {
        const std::optional<int64_t> logged = json_line_int(line, "step");
        return logged && *logged <= step;
    });
    trim_log(path_in_run("eval_log.jsonl"), [&](const std::string& line) {
        const std::optional<int64_t> logged = json_line_int(line, "epoch");
        return logged && *logged < epoch;
    });
    const auto fields = [](const std::string& line) { return std::count(line.begin(), line.end(), ',') + 1; };
    const auto header_fields = fields(kEpochsCsvHeader);
    trim_log(path_in_run("epochs.csv"), [&](const std::string& line) {
        if (line == kEpochsCsvHeader) return true;
        if (fields(line) != header_fields) return false;
        try {
            return std::stoi(line.substr(0, line.find(','))) < epoch;
        } catch (const std::exception&) {
            return false;
        }
    });
    restore_curves();
}

// The curves of the final plot (training loss per step, selection metric per epoch) come from the
// logs, so a resumed run plots its whole history.
void Trainer::restore_curves() {
    State& s = *state_;
    s.step_x.clear();
    s.step_loss.clear();
    s.eval_x.clear();
    s.eval_metric.clear();
    const auto each_line = [&](const std::string& name, const std::function<void(const nlohmann::json&)>& f) {
        const std::string path = path_in_run(name);
        if (!fs::exists(path)) return;
        std::istringstream in(read_file(path));
        std::string line;
        while (std::getline(in, line)) {
            const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_object()) f(j);
        }
    };
    each_line("train_log.jsonl", [&](const nlohmann::json& j) {
        if (!j.contains("loss") || !j["loss"].is_number()) return;  // skipped (non-finite) steps
        s.step_x.push_back(j.value("step", 0.0));
        s.step_loss.push_back(j["loss"].get<double>());
    });
    each_line("eval_log.jsonl", [&](const nlohmann::json& j) {
        if (!j.contains("value") || !j["value"].is_number()) return;
        s.eval_x.push_back(j.value("epoch", 0.0) + 1.0);
        s.eval_metric.push_back(j["value"].get<double>());
    });
}

bool Trainer::train_epoch() {
    State& s = *state_;
    nn::Module& model = method_->model();
    model.train();
    data::DataLoader& loader = *s.loader;
    const int64_t batches = loader.batches_per_epoch();
    loader.start_epoch(position_.epoch, position_.batch);
    std::ofstream log(path_in_run("train_log.jsonl"), std::ios::app);
    ProgressBar bar("epoch " + std::to_string(position_.epoch + 1) + "/" + std::to_string(config_.epochs), batches,
                    config_.progress);
    nlohmann::json& sums = s.epoch_sums;
    const auto epoch_start = std::chrono::steady_clock::now();
    int64_t epoch_images = 0;
    while (std::optional<data::Batch> batch = loader.next()) {
        const auto step_start = std::chrono::steady_clock::now();
        const double lr = s.schedule->lr_at(position_.step);
        s.optimizer->set_lr(lr);
        Tensor images = to(batch->images, s.device);
        Tensor labels = to(batch->labels, s.device);
        LossTerms loss;
        {
            std::optional<AutocastGuard> autocast;
            if (config_.precision == "bf16") autocast.emplace();
            loss = method_->losses(images, labels);
        }
        std::vector<double> terms;
        for (const auto& [name, t] : loss.terms) terms.push_back(t.item<double>());
        const double total = loss.total.item<double>();
        if (!std::isfinite(total)) {
            std::string detail;
            for (size_t i = 0; i < terms.size(); ++i) detail += " " + loss.terms[i].first + " " + std::to_string(terms[i]);
            WSOL_CHECK(config_.skip_nonfinite, "the loss is ", total, " at step ", position_.step, " (epoch ",
                       position_.epoch + 1, ", batch ", batch->index, "):", detail,
                       ". Stopping; lower the learning rate, or pass --skip-nonfinite to skip such steps");
            log << nlohmann::json{{"step", position_.step}, {"epoch", position_.epoch}, {"batch", batch->index},
                                  {"skipped", "non-finite loss"}}.dump() << "\n";
            ++position_.batch;
            continue;
        }
        s.optimizer->zero_grad();
        backward(loss.total);
        double grad_norm = -1.0;
        if (config_.clip_grad > 0) grad_norm = nn::clip_grad_norm_(model.parameters(), config_.clip_grad);
        s.optimizer->step();
        ++position_.step;
        ++position_.batch;

        const int64_t n = batch->size();
        const int64_t correct = sum(eq(argmax(loss.logits, 1), labels)).item<int64_t>();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
        epoch_images += n;
        s.images += double(n);
        s.seconds += seconds;
        sums["loss"] = sums.value("loss", 0.0) + total * double(n);
        for (size_t i = 0; i < terms.size(); ++i) {
            sums[loss.terms[i].first] = sums.value(loss.terms[i].first, 0.0) + terms[i] * double(n);
        }
        sums["correct"] = sums.value("correct", int64_t(0)) + correct;
        sums["seen"] = sums.value("seen", int64_t(0)) + n;
        nlohmann::json line = {{"step", position_.step}, {"epoch", position_.epoch}, {"batch", batch->index},
                               {"lr", lr},       {"loss", total},         {"acc", double(correct) / double(n)},
                               {"images_per_second", double(n) / seconds}};
        for (size_t i = 0; i < terms.size(); ++i) line[loss.terms[i].first] = terms[i];
        if (grad_norm >= 0) line["grad_norm"] = grad_norm;
        log << line.dump() << "\n";
        s.step_x.push_back(double(position_.step));
        s.step_loss.push_back(total);

        std::vector<std::string> term_names;
        for (const auto& [name, t] : loss.terms) term_names.push_back(name);
        bar.update(position_.batch, epoch_images, training_progress_text(sums, term_names, lr));

        const bool step_limit = config_.max_steps > 0 && position_.step >= config_.max_steps;
        if (step_limit || g_stop_requested.load()) {
            log.flush();
            save_checkpoint(path_in_run("checkpoints/last.safetensors"), true);
            bar.finish(step_limit ? " (step limit)" : " (interrupted)");
            return false;
        }
    }
    const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    bar.finish("");
    report_skipped(loader.skipped());
    // The epoch summary row.
    const bool new_csv = !fs::exists(path_in_run("epochs.csv"));
    std::ofstream csv(path_in_run("epochs.csv"), std::ios::app);
    const int64_t seen = std::max<int64_t>(1, sums.value("seen", int64_t(1)));
    if (new_csv) csv << kEpochsCsvHeader << "\n";
    csv << position_.epoch << "," << position_.step << "," << sums.value("loss", 0.0) / double(seen) << ","
        << double(sums.value("correct", int64_t(0))) / double(seen) << "," << s.schedule->lr_at(position_.step) << ","
        << epoch_seconds << "," << double(epoch_images) / std::max(epoch_seconds, 1e-9) << "\n";
    return true;
}

// Training samples that --skip-bad-images dropped this epoch: appended to skipped_images.txt in the
// run folder and counted on stderr (never silently).
void Trainer::report_skipped(const std::vector<data::SkippedInput>& skipped) {
    size_t& reported = state_->skipped_reported;
    if (skipped.size() <= reported) return;
    std::ofstream out(path_in_run("skipped_images.txt"), std::ios::app);
    for (size_t i = reported; i < skipped.size(); ++i) {
        out << "epoch " << position_.epoch << "\t" << skipped[i].where << "\t" << skipped[i].reason << "\n";
    }
    std::fprintf(stderr, "wsol-train: epoch %d skipped %zu bad training image(s); see %s\n", position_.epoch + 1,
                 skipped.size() - reported, path_in_run("skipped_images.txt").c_str());
    reported = skipped.size();
}

void Trainer::evaluate_selection() {
    const int epoch = position_.epoch;
    const bool last = epoch + 1 == config_.epochs;
    const bool scheduled = epoch >= config_.eval_from_epoch && (epoch - config_.eval_from_epoch) % config_.eval_every == 0;
    if (config_.select_split.empty() || !(scheduled || last)) return;
    const std::shared_ptr<const data::Dataset> split = splits_.val;  // select_split is "val" (validate())
    EvalOptions o;
    o.resize = config_.resize;
    o.crop = config_.crop;
    o.legacy_thresholds = config_.legacy_thresholds;
    o.cam_curve_interval = config_.cam_curve_interval;
    o.batch_size = config_.batch_size;
    o.workers = config_.workers;
    o.skip_bad_images = config_.skip_bad_images;
    // Both protocols, whatever the selection metric: the eval log and the progress line carry the
    // legacy figures and wsolevaluation's side by side.
    o.legacy = true;
    o.wsoleval = true;
    EvalReport r = evaluate(*method_, split, o);
    const double metric = r.metric(config_.select_metric);
    state_->eval_x.push_back(double(epoch + 1));
    state_->eval_metric.push_back(metric);
    std::ofstream log(path_in_run("eval_log.jsonl"), std::ios::app);
    log << nlohmann::json{{"epoch", epoch}, {"step", position_.step}, {"split", config_.select_split},
                          {"metric", config_.select_metric}, {"value", metric}, {"report", r.to_json()}}.dump() << "\n";
    if (config_.progress) {
        std::fprintf(stderr, "  %s: Top-1 Cls %.2f  Top-1 Loc %.2f  GT-known Loc %.2f  MaxBoxAccV2 %.2f; %s %.2f%s\n",
                     config_.select_split.c_str(), r.metric("top1_cls"), r.metric("top1_loc"), r.metric("gt_known_loc"),
                     r.metric("maxboxacc_v2"), config_.select_metric.c_str(), metric,
                     metric > position_.best_metric ? " (best so far)" : "");
    }
    if (metric > position_.best_metric) {
        position_.best_metric = metric;
        position_.best_epoch = epoch;
        position_.best_threshold = r.legacy->per_threshold.at(r.legacy->best_index).threshold;
        save_checkpoint(path_in_run("checkpoints/best.safetensors"), false);
    }
}

TrainResult Trainer::run() {
    fs::create_directories(config_.out);
    write_file_atomic(path_in_run("config.json"), config_.to_json().dump(2) + "\n");
    g_stop_requested.store(false);
    TrainResult result;
    bool finished = true;
    while (position_.epoch < config_.epochs) {
        if (!train_epoch()) {
            finished = false;
            break;
        }
        evaluate_selection();
        // The epoch is complete: the checkpoint points at the start of the next one.
        ++position_.epoch;
        position_.batch = 0;
        state_->epoch_sums = nlohmann::json::object();
        save_checkpoint(path_in_run("checkpoints/last.safetensors"), true);
    }
    result.steps = position_.step;
    result.epochs_completed = position_.epoch;
    result.best_epoch = position_.best_epoch;
    result.best_metric = position_.best_metric;
    result.train_images_per_second = state_->seconds > 0 ? state_->images / state_->seconds : 0.0;
    if (finished) write_final_report(result);
    return result;
}

void Trainer::write_final_report(TrainResult& result) {
    // Evaluate the selected model (best on the held-out split, else the last one) on the test split.
    const std::string best = path_in_run("checkpoints/best.safetensors");
    result.best_checkpoint = fs::exists(best) ? best : path_in_run("checkpoints/last.safetensors");
    if (fs::exists(best)) method_->model().load_state_dict(nn::load_checkpoint(best).model);
    std::vector<Panel> panels;
    panels.push_back({"training loss", "step", {{"loss", state_->step_x, state_->step_loss}}});
    if (!state_->eval_x.empty()) {
        panels.push_back({config_.select_split + " " + config_.select_metric, "epoch",
                          {{config_.select_metric, state_->eval_x, state_->eval_metric}}});
    }
    const std::string report_dir = path_in_run("report");
    fs::create_directories(report_dir);
    write_plot_png(report_dir + "/curves.png", panels);
    if (!config_.final_test || !splits_.test) return;
    EvalOptions o;
    o.resize = config_.resize;
    o.crop = config_.crop;
    o.legacy_thresholds = config_.legacy_thresholds;
    o.cam_curve_interval = 0.001;  // the protocol's default for final numbers
    o.batch_size = config_.batch_size;
    o.workers = config_.workers;
    o.skip_bad_images = config_.skip_bad_images;
    o.mask_root = splits_.mask_root;
    o.keep_examples = 48;
    if (config_.progress) {
        o.progress = [bar = std::make_shared<std::unique_ptr<ProgressBar>>(), stage_name = std::make_shared<std::string>()](
                         const std::string& stage, int64_t done, int64_t total) {
            if (*stage_name != stage || !*bar) {
                if (*bar) (*bar)->finish();
                *bar = std::make_unique<ProgressBar>("test " + stage, total);
                *stage_name = stage;
            }
            (*bar)->update(done, done);
            if (done == total) {
                (*bar)->finish();
                bar->reset();
            }
        };
    }
    result.test = evaluate(*method_, splits_.test, o);
    write_run_report(report_dir, config_, result, *result.test, splits_);
}

}  // namespace wsol::train
