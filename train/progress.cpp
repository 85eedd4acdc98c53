#include "train/progress.h"

#include <unistd.h>

#include <algorithm>

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

std::string training_progress_text(const nlohmann::json& sums, const std::vector<std::string>& term_names, double lr) {
    const double seen = double(sums.value("seen", int64_t(0)));
    if (seen <= 0) return "";
    char buf[96];
    std::snprintf(buf, sizeof buf, " loss %.4f", sums.value("loss", 0.0) / seen);
    std::string text = buf;
    if (term_names.size() > 1) {
        text += " (";
        for (size_t i = 0; i < term_names.size(); ++i) {
            std::snprintf(buf, sizeof buf, "%s%.40s %.3g", i ? " " : "", term_names[i].c_str(),
                          sums.value(term_names[i], 0.0) / seen);
            text += buf;
        }
        text += ")";
    }
    std::snprintf(buf, sizeof buf, " acc %.1f%% lr %.2e", 100.0 * double(sums.value("correct", int64_t(0))) / seen, lr);
    return text + buf;
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, ProgressStyle style)
    : label_(std::move(label)), total_(total), enabled_(enabled), style_(std::move(style)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {
    if (style_.out == nullptr) style_.out = stderr;
    tty_ = style_.terminal >= 0 ? style_.terminal == 1 : ::isatty(::fileno(style_.out)) == 1;
}

ProgressBar::~ProgressBar() {
    if (drawn_) finish();  // ends a line left open; a bar that never drew stays silent
}

void ProgressBar::update(int64_t done, int64_t items, const std::string& extra) {
    last_done_ = done;
    last_items_ = items;
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    if (since < (tty_ ? 0.2 : style_.log_interval)) return;
    last_draw_ = now;
    draw(done, items, extra, false);
}

void ProgressBar::finish(const std::string& extra) {
    if (!enabled_ || finished_) return;
    finished_ = true;
    draw(last_done_, last_items_, extra, true);
}

void ProgressBar::draw(int64_t done, int64_t items, const std::string& extra, bool final) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? double(items) / elapsed : 0.0;
    const double eta = done > 0 ? elapsed * double(total_ - done) / double(done) : -1.0;
    const int width = 24;
    const double fraction = total_ > 0 ? std::min(1.0, std::max(0.0, double(done) / double(total_))) : 0.0;
    const int filled = int(double(width) * fraction);
    std::string bar(size_t(filled), '#');
    bar += std::string(size_t(width - filled), '.');
    const std::string when = final ? "in " + format_duration(elapsed) : "ETA " + format_duration(eta);
    char line[512];
    std::snprintf(line, sizeof line, "[%s] %lld/%lld %s %.1f %s %s%s", bar.c_str(), (long long)done,
                  (long long)total_, label_.c_str(), rate, style_.rate_unit.c_str(), when.c_str(), extra.c_str());
    drawn_ = true;
    if (tty_) {
        std::fprintf(style_.out, "\r%-110s%s", line, final ? "\n" : "");
    } else {
        std::fprintf(style_.out, "%s\n", line);
    }
    std::fflush(style_.out);
}

}  // namespace wsol::train
