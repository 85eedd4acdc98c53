// A one-line progress bar for long runs, on stderr: done/total, percent, rate and ETA.
// Drawn only when enabled (a terminal, or asked for); redrawn at most ten times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace wsol::apps {

class ProgressBar {
public:
    ProgressBar(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}
    ~ProgressBar() { finish(); }

    // True when stderr is a terminal.
    static bool stderr_is_terminal();

    void update(int64_t done, int64_t total);
    void finish();  // ends the line (once)

private:
    void draw(int64_t done, int64_t total);
    std::string label_;
    bool enabled_;
    bool drawn_ = false, finished_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_draw_{};
};

}  // namespace wsol::apps
