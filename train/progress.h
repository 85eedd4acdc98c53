// A one-line progress bar on stderr: "[#######.........] 140/320 train 42.1 img/s ETA 0:01:12 loss 1.83".
// Redraws in place on a terminal; elsewhere (logs, CI) prints a line at most every `log_interval`
// seconds, so long runs leave a readable trace without flooding the output.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace wsol::train {

class ProgressBar {
public:
    ProgressBar(std::string label, int64_t total, bool enabled = true, double log_interval = 30.0);
    // `done` units of `total` finished; `items` (e.g. images) since the start, for the rate; `extra`
    // is appended (loss terms, ...).
    void update(int64_t done, int64_t items, const std::string& extra = "");
    void finish(const std::string& extra = "");

private:
    void draw(int64_t done, int64_t items, const std::string& extra, bool final);
    std::string label_;
    int64_t total_;
    bool enabled_, tty_;
    double log_interval_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    int64_t last_done_ = 0, last_items_ = 0;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace wsol::train
