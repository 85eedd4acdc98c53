// A one-line progress bar, for training epochs and evaluation passes (wsol-train, wsol-eval):
//
//   [##########..............] 140/320 epoch 3/30 42.1 img/s ETA 1:12 loss 1.8312 (cls 1.70 area 0.03) ...
//
// On a terminal it redraws in place, at most five times a second. Elsewhere (logs, CI) it prints a
// whole line at most every `log_interval` seconds, so long runs leave a readable trace without
// flooding the log. finish() prints the final line ("in 2:03" instead of the ETA) once; the
// destructor finishes a bar that has drawn but was not finished (a run cut short by an error still
// ends its line).
// Disabled, it prints nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wsol::train {

struct ProgressStyle {
    std::string rate_unit = "img/s";
    double log_interval = 30.0;  // seconds between lines when not on a terminal
    std::FILE* out = nullptr;    // nullptr: stderr
    int terminal = -1;           // 1 or 0 to say whether `out` is a terminal; -1: ask isatty
};

class ProgressBar {
public:
    ProgressBar(std::string label, int64_t total, bool enabled = true, ProgressStyle style = {});
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    // `done` units of the total finished; `items` (e.g. images) since the start, for the rate;
    // `extra` is appended (loss terms, ...).
    void update(int64_t done, int64_t items, const std::string& extra = "");
    void set_total(int64_t total) { total_ = total; }
    void finish(const std::string& extra = "");

    static bool stderr_is_terminal();

private:
    void draw(int64_t done, int64_t items, const std::string& extra, bool final);
    std::string label_;
    int64_t total_;
    bool enabled_, tty_, finished_ = false, drawn_ = false;
    ProgressStyle style_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    int64_t last_done_ = 0, last_items_ = 0;
};

// The training bar's figures for the epoch so far, from its running sums ("loss", each term,
// "correct", "seen"): " loss 1.8312 (cls 1.7 area 0.031 norm 0.1) acc 42.0% lr 5.00e-04". The terms
// are listed when there are several (SAT: cls, area, norm); "" before the first step.
std::string training_progress_text(const nlohmann::json& sums, const std::vector<std::string>& term_names, double lr);

// "1:02:03" or "2:03"; "?" for a negative or absurd duration.
std::string format_duration(double seconds);

}  // namespace wsol::train
