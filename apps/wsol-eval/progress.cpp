// Progress bar (see progress.h).
#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace wsol::apps {

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::update(int64_t done, int64_t total) {
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(done, total);
}

void ProgressBar::draw(int64_t done, int64_t total) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double fraction = total > 0 ? double(done) / double(total) : 1.0;
    const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
    const int width = 30, filled = int(fraction * width);
    std::string bar(size_t(filled), '#');
    bar.append(size_t(width - filled), '.');
    char eta[32] = "--:--";
    if (rate > 0 && done < total) {
        const int64_t seconds = int64_t(double(total - done) / rate);
        std::snprintf(eta, sizeof eta, "%lld:%02lld", static_cast<long long>(seconds / 60),
                      static_cast<long long>(seconds % 60));
    } else if (done >= total) {
        std::snprintf(eta, sizeof eta, "done in %.1fs", elapsed);
    }
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %3.0f%% %.1f/s ETA %s  ", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), fraction * 100.0, rate, eta);
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (!enabled_ || finished_) return;
    finished_ = true;
    if (drawn_) std::fputc('\n', stderr);
}

}  // namespace wsol::apps
