#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::train {

namespace {

const cv::Scalar kColors[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214},
                              {189, 103, 148}, {75, 86, 140}, {194, 119, 227}, {127, 127, 127}};

std::string tick_text(double v) {
    char buf[32];
    if (std::fabs(v) >= 1000 || (std::fabs(v) < 0.01 && v != 0)) {
        std::snprintf(buf, sizeof buf, "%.1e", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.3g", v);
    }
    return buf;
}

void draw_panel(cv::Mat& canvas, const cv::Rect& area, const Panel& panel) {
    const int left = area.x + 62, right = area.x + area.width - 16, top = area.y + 34, bottom = area.y + area.height - 44;
    cv::putText(canvas, panel.title, {area.x + 62, area.y + 22}, cv::FONT_HERSHEY_SIMPLEX, 0.55, {0, 0, 0}, 1, cv::LINE_AA);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const Series& s : panel.series) {
        for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i])) continue;
            x0 = std::min(x0, s.x[i]);
            x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, s.y[i]);
            y1 = std::max(y1, s.y[i]);
        }
    }
    cv::rectangle(canvas, {left, top}, {right, bottom}, {0, 0, 0}, 1);
    if (!(x0 <= x1)) return;  // nothing to draw
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) {
        y0 -= 0.5;
        y1 += 0.5;
    }
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    auto px = [&](double x, double y) {
        return cv::Point(left + int(std::lround((x - x0) / (x1 - x0) * (right - left))),
                         bottom - int(std::lround((y - y0) / (y1 - y0) * (bottom - top))));
    };
    for (int t = 0; t <= 4; ++t) {
        const double yv = y0 + (y1 - y0) * t / 4.0, xv = x0 + (x1 - x0) * t / 4.0;
        const cv::Point py = px(x0, yv), pxx = px(xv, y0);
        cv::line(canvas, {left, py.y}, {right, py.y}, {225, 225, 225}, 1);
        cv::putText(canvas, tick_text(yv), {area.x + 4, py.y + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.38, {60, 60, 60}, 1, cv::LINE_AA);
        cv::putText(canvas, tick_text(xv), {pxx.x - 12, bottom + 16}, cv::FONT_HERSHEY_SIMPLEX, 0.38, {60, 60, 60}, 1,
                    cv::LINE_AA);
    }
    cv::putText(canvas, panel.x_label, {(left + right) / 2 - 20, bottom + 34}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1,
                cv::LINE_AA);
    for (size_t k = 0; k < panel.series.size(); ++k) {
        const Series& s = panel.series[k];
        const cv::Scalar color = kColors[k % 8];
        std::vector<cv::Point> pts;
        for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (std::isfinite(s.y[i])) pts.push_back(px(s.x[i], s.y[i]));
        }
        if (pts.size() == 1) cv::circle(canvas, pts[0], 3, color, cv::FILLED, cv::LINE_AA);
        if (pts.size() > 1) cv::polylines(canvas, pts, false, color, 2, cv::LINE_AA);
        const int ly = top + 14 + int(k) * 16;
        cv::line(canvas, {right - 130, ly - 4}, {right - 112, ly - 4}, color, 2);
        cv::putText(canvas, s.name, {right - 106, ly}, cv::FONT_HERSHEY_SIMPLEX, 0.42, {0, 0, 0}, 1, cv::LINE_AA);
    }
}

}  // namespace

void write_plot_png(const std::string& path, const std::vector<Panel>& panels, int panel_width, int panel_height) {
    WSOL_CHECK(!panels.empty(), "write_plot_png: no panels");
    cv::Mat canvas(panel_height, panel_width * int(panels.size()), CV_8UC3, cv::Scalar(255, 255, 255));
    for (size_t p = 0; p < panels.size(); ++p) {
        draw_panel(canvas, cv::Rect(int(p) * panel_width, 0, panel_width, panel_height), panels[p]);
    }
    std::vector<uchar> png;
    WSOL_CHECK(cv::imencode(".png", canvas, png), path, ": PNG encoding failed");
    write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace wsol::train
