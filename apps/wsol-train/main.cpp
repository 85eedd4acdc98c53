// wsol-train: train a WSOL method on a dataset. A thin front end over train/ (train/trainer.h).
//
//   wsol-train --method sat --data <dataset root> [--preset sat-cub|sat-cub-seed|sat-ilsvrc|...]
//              [--config run.json] [--init deit_small_patch16_224.pth] [--out runs/sat-cub] [overrides]
//   wsol-train --resume runs/sat-cub
//
// Settings resolve in order: the preset, the --config file (JSON, any keys of train/config.h), then
// the flags below, then --set key=value pairs (value as JSON, e.g. --set model.area_threshold=0.3).
// Ctrl-C stops after the current step and writes a resumable checkpoint; a second Ctrl-C kills.
// Exit status: 0 done, 2 usage error, 1 failure (one line on stderr).
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "engine/file_util.h"
#include "train/report.h"
#include "train/trainer.h"

namespace {

void on_sigint(int) {
    wsol::train::request_training_stop();
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// "model.area_threshold=0.3" -> {"model": {"area_threshold": 0.3}}; a value that is not JSON is a string.
nlohmann::json parse_set(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw CLI::ValidationError("--set", "expected key=value, got '" + text + "'");
    const std::string key = text.substr(0, eq), raw = text.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(raw, nullptr, false);
    if (value.is_discarded()) value = raw;
    nlohmann::json out = nlohmann::json::object();
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
        out[key] = value;
    } else {
        out[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"wsol-train: train a weakly supervised object localization method"};
    std::string method, preset_name, config_path, resume_dir, arch;
    std::vector<std::string> sets;
    nlohmann::json flags = nlohmann::json::object();
    // Flags that map one-to-one onto config keys.
    std::string data, metadata, init, out, device, precision, schedule, select_split, select_metric, optimizer;
    int epochs = 0, batch_size = 0, workers = -1, threads = -1, eval_every = 0;
    double lr = 0, weight_decay = -1, warmup = -1, area = -1, drop_path = -1, clip = -1;
    int64_t seed = -1, max_steps = -1;
    bool skip_nonfinite = false, skip_bad = false, no_progress = false, decay_tokens = false;

    std::string presets;
    for (const std::string& name : wsol::train::preset_names()) presets += (presets.empty() ? "" : ", ") + name;
    app.add_option("--method", method, "method to train (sat, or vit: a plain classifier)");
    app.add_option("--preset", preset_name, "recipe: " + presets);
    app.add_option("--config", config_path, "JSON file with settings (keys of train/config.h)");
    app.add_option("--resume", resume_dir, "continue the run in this folder from its last checkpoint");
    app.add_option("--data", data, "dataset root: CUB_200_2011, an ILSVRC folder, or a wsol-synth output");
    app.add_option("--metadata", metadata, "wsolevaluation metadata with train/ val/ test/ (default: found next to --data)");
    app.add_option("--init", init, "pretrained backbone (.pth/.safetensors, e.g. DeiT-S) or a wsol checkpoint");
    app.add_option("--out", out, "run folder (checkpoints, logs, report)");
    app.add_option("--arch", arch, "backbone, e.g. deit_small_patch16_224");
    app.add_option("--epochs", epochs);
    app.add_option("--batch-size", batch_size);
    app.add_option("--lr", lr);
    app.add_option("--weight-decay", weight_decay);
    app.add_option("--optimizer", optimizer, "adamw or sgd");
    app.add_option("--schedule", schedule, "constant, cosine or step");
    app.add_option("--warmup-epochs", warmup);
    app.add_option("--decay-tokens", decay_tokens, "also weight-decay the method's token/position parameters (seed quirk)");
    app.add_option("--area-threshold", area, "SAT's eps of the batch area loss");
    app.add_option("--drop-path", drop_path);
    app.add_option("--clip-grad", clip, "clip gradients to this global norm (0: off)");
    app.add_option("--seed", seed);
    app.add_option("--device", device, "cpu or cuda[:N]");
    app.add_option("--precision", precision, "float32 or bf16 (bf16 autocast, CUDA only)");
    app.add_option("--workers", workers, "data loader threads");
    app.add_option("--threads", threads, "compute threads (0: all cores)");
    app.add_option("--select-split", select_split, "held-out split that picks the best checkpoint: val, or '' for the last epoch");
    app.add_option("--select-metric", select_metric, "maxboxacc_v2, gt_known_loc or top1_loc");
    app.add_option("--eval-every", eval_every, "evaluate the selection split every N epochs");
    app.add_option("--max-steps", max_steps, "stop after this many optimizer steps (saves a resumable checkpoint)");
    app.add_flag("--skip-nonfinite", skip_nonfinite, "skip steps whose loss is NaN/Inf instead of stopping");
    app.add_flag("--skip-bad-images", skip_bad, "skip unreadable images (counted and reported) instead of stopping");
    app.add_flag("--no-progress", no_progress, "no progress bar");
    app.add_option("--set", sets, "key=value (JSON value) override, repeatable; model.<key> for the model");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;  // --help: 0; any usage error: 2 (CLI11's own codes vary)
    }

    try {
        // Collect the flags the user gave (only those override the preset/config).
        auto put = [&](const char* key, const auto& value, bool given) {
            if (given) flags[key] = value;
        };
        put("data", data, !data.empty());
        put("metadata", metadata, !metadata.empty());
        put("init", init, !init.empty());
        put("out", out, !out.empty());
        put("device", device, !device.empty());
        put("precision", precision, !precision.empty());
        put("schedule", schedule, !schedule.empty());
        put("optimizer", optimizer, !optimizer.empty());
        put("select_split", select_split, app.count("--select-split") > 0);
        put("select_metric", select_metric, !select_metric.empty());
        put("epochs", epochs, epochs > 0);
        put("batch_size", batch_size, batch_size > 0);
        put("eval_every", eval_every, eval_every > 0);
        put("workers", workers, workers >= 0);
        put("threads", threads, threads >= 0);
        put("lr", lr, lr > 0);
        put("weight_decay", weight_decay, weight_decay >= 0);
        put("warmup_epochs", warmup, warmup >= 0);
        put("clip_grad", clip, clip >= 0);
        put("seed", seed, seed >= 0);
        put("max_steps", max_steps, max_steps >= 0);
        put("skip_nonfinite", true, skip_nonfinite);
        put("skip_bad_images", true, skip_bad);
        put("progress", false, no_progress);
        put("decay_tokens", decay_tokens, app.count("--decay-tokens") > 0);
        nlohmann::json model = nlohmann::json::object();
        if (!method.empty()) model["method"] = method;
        if (!arch.empty()) model["architecture"] = arch;
        if (area >= 0) model["area_threshold"] = area;
        if (drop_path >= 0) model["drop_path"] = drop_path;
        if (!model.empty()) flags["model"] = model;
        for (const std::string& s : sets) {
            nlohmann::json kv = parse_set(s);
            for (auto it = kv.begin(); it != kv.end(); ++it) {
                if (it->is_object() && flags.contains(it.key()) && flags[it.key()].is_object()) {
                    flags[it.key()].update(*it);
                } else {
                    flags[it.key()] = *it;
                }
            }
        }

        std::unique_ptr<wsol::train::Trainer> trainer;
        if (!resume_dir.empty()) {
            trainer = wsol::train::Trainer::resume(resume_dir, flags);
        } else {
            if (preset_name.empty() && method == "sat") preset_name = "sat-cub";
            if (preset_name.empty() && config_path.empty()) {
                throw CLI::ValidationError("wsol-train", "give --method sat, --preset or --config");
            }
            wsol::train::TrainConfig config = preset_name.empty() ? wsol::train::TrainConfig{} : wsol::train::preset(preset_name);
            if (!config_path.empty()) config.merge(nlohmann::json::parse(wsol::read_file(config_path)));
            config.merge(flags);
            if (config.out.empty()) config.out = "runs/" + (preset_name.empty() ? std::string("run") : preset_name);
            if (config.data.empty()) throw CLI::ValidationError("--data", "a dataset root is needed");
            trainer = std::make_unique<wsol::train::Trainer>(std::move(config));
        }
        const wsol::train::TrainConfig& c = trainer->config();
        std::printf("wsol-train: %s on %s\n  %s\n  %s\n  output: %s\n", c.model.value("method", "?").c_str(),
                    trainer->splits().describe().c_str(), trainer->init_summary().c_str(),
                    trainer->method().describe().dump().c_str(), c.out.c_str());
        std::fflush(stdout);
        std::signal(SIGINT, on_sigint);
        wsol::train::TrainResult r = trainer->run();
        if (r.epochs_completed < c.epochs) {
            std::printf("stopped after %lld steps; continue with: wsol-train --resume %s\n", (long long)r.steps, c.out.c_str());
            return 0;
        }
        std::printf("trained %d epochs (%lld steps, %.1f images/s)\n", r.epochs_completed, (long long)r.steps,
                    r.train_images_per_second);
        if (r.best_epoch >= 0) std::printf("best %s epoch %d: %.2f\n", c.select_metric.c_str(), r.best_epoch + 1, r.best_metric);
        if (r.test) {
            std::printf("test split (%lld images, %s):\n%s", (long long)r.test->num_images, r.best_checkpoint.c_str(),
                        wsol::train::headline(*r.test).c_str());
            std::printf("report: %s/report/report.html\n", c.out.c_str());
        }
        return 0;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;  // --help: 0; any usage error: 2 (CLI11's own codes vary)
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "wsol-train: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsol-train: %s\n", e.what());
        return 1;
    }
}
