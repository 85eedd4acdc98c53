// The training loop of wsol-train: epochs over the threaded loader, the method's losses, backward,
// AdamW/SGD with a schedule, logs, per-epoch atomic checkpoints, evaluation on the held-out split,
// best-checkpoint selection, and the final report on the test split.
//
// A run lives in one folder:
//   config.json                the resolved configuration
//   train_log.jsonl            one line per optimizer step (loss terms, lr, accuracy, images/s)
//   epochs.csv                 one line per epoch (mean losses, train accuracy, held-out metrics)
//   checkpoints/last.safetensors   model + optimizer + position (epoch, step, RNG): what --resume reads
//   checkpoints/best.safetensors   the model with the best held-out metric (selection never uses test)
//   eval_log.jsonl             one line per held-out evaluation (both protocols' full report)
//   skipped_images.txt         training images --skip-bad-images dropped, per epoch (when any)
//   report/                    report.json, report.txt, curves.png, index.html + overlays
//
// Resuming (--resume <run folder>) continues bit-identically on the CPU: the loader's batches are
// pure functions of (seed, epoch, index), the model's random stream (drop-path) and the optimizer
// state are restored, the schedule is a function of the step. Checkpoints are written to a temporary
// file, flushed and renamed, so killing the process at any moment leaves the previous checkpoint
// intact.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/config.h"
#include "train/datasets.h"
#include "train/evaluate.h"
#include "train/method.h"

namespace wsol::train {

struct TrainResult {
    int64_t steps = 0;
    int epochs_completed = 0;
    int best_epoch = -1;            // -1: no held-out selection was made
    double best_metric = 0.0;
    std::string best_checkpoint;    // the checkpoint the final report evaluated
    std::optional<EvalReport> test; // final test-split report
    double train_images_per_second = 0.0;
};

class Trainer {
public:
    // A new run (config.out must not hold a run already, unless it is being resumed).
    explicit Trainer(TrainConfig config);
    // Continues the run in `run_dir` from its last checkpoint; `overrides` may change only settings
    // that do not alter the computation (out, workers, progress, threads, final_test, max_steps).
    static std::unique_ptr<Trainer> resume(const std::string& run_dir, const nlohmann::json& overrides = {});
    ~Trainer();

    TrainResult run();
    Method& method() { return *method_; }
    const TrainConfig& config() const { return config_; }
    const Splits& splits() const { return splits_; }

    // One line describing how the model was initialised (pretrained weights, resume, scratch).
    const std::string& init_summary() const { return init_summary_; }

private:
    struct Position {
        int epoch = 0;      // the epoch in progress (or the next one)
        int64_t batch = 0;  // the next batch of that epoch
        int64_t step = 0;   // optimizer steps taken
        int best_epoch = -1;
        double best_metric = -1.0;
        double best_threshold = -1.0;  // the legacy threshold that was best at best_epoch (-1: none yet)
    };
    Trainer(TrainConfig config, bool resuming);
    void build(bool resuming);
    bool train_epoch();  // false when stopped early (max_steps or a stop request)
    void save_checkpoint(const std::string& path, bool with_optimizer) const;
    void load_resume_state(const std::string& path);
    void restore_curves();
    void evaluate_selection();
    void report_skipped(const std::vector<data::SkippedInput>& skipped);
    void write_final_report(TrainResult& result);
    std::string path_in_run(const std::string& relative) const;

    TrainConfig config_;
    Splits splits_;
    std::unique_ptr<Method> method_;
    struct State;
    std::unique_ptr<State> state_;
    Position position_;
    std::string init_summary_;
};

// Asks a running Trainer to stop after the current step and save a resumable checkpoint (what
// wsol-train's SIGINT handler calls). Safe to call from a signal handler.
void request_training_stop();

}  // namespace wsol::train
