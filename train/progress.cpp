#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

namespace wsol::train {

std::string format_duration(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return "?";
    const int64_t s = int64_t(seconds + 0.5);
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                      (long long)(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
    }
    return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, double log_interval)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(::isatty(2) != 0),
      log_interval_(log_interval), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t done, int64_t items, const std::string& extra) {
    last_done_ = done;
    last_items_ = items;
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    if (since < (tty_ ? 0.2 : log_interval_)) return;
    last_draw_ = now;
    draw(done, items, extra, false);
}

void ProgressBar::finish(const std::string& extra) {
    if (enabled_) draw(last_done_, last_items_, extra, true);
}

void ProgressBar::draw(int64_t done, int64_t items, const std::string& extra, bool final) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? double(items) / elapsed : 0.0;
    const double eta = done > 0 ? elapsed * double(total_ - done) / double(done) : -1.0;
    const int width = 24;
    const int filled = total_ > 0 ? int(double(width) * double(done) / double(total_)) : 0;
    std::string bar(size_t(filled), '#');
    bar += std::string(size_t(width - filled), '.');
    char line[512];
    std::snprintf(line, sizeof line, "[%s] %lld/%lld %s %.1f img/s %s %s%s", bar.c_str(), (long long)done,
                  (long long)total_, label_.c_str(), rate, final ? ("in " + format_duration(elapsed)).c_str()
                                                                  : ("ETA " + format_duration(eta)).c_str(),
                  extra.c_str(), "");
    if (tty_) {
        std::fprintf(stderr, "\r%-110s%s", line, final ? "\n" : "");
    } else {
        std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
}

}  // namespace wsol::train
