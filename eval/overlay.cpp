// Overlay PNGs and their HTML index (see overlay.h).
#include "eval/overlay.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::eval {

namespace {

std::string html_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

// Percent-encodes what is not safe in a relative URL path.
std::string url_path(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_') {
            out += char(c);
        } else {
            char buffer[4];
            std::snprintf(buffer, sizeof buffer, "%%%02X", c);
            out += buffer;
        }
    }
    return out;
}

void draw_box(cv::Mat& canvas, const Box& b, int scale, const cv::Scalar& color, int thickness) {
    // Inclusive pixel corners: the box covers [x0, x1 + 1) in map pixels.
    cv::rectangle(canvas, cv::Point(b.x0 * scale, b.y0 * scale),
                  cv::Point((b.x1 + 1) * scale - 1, (b.y1 + 1) * scale - 1), color, thickness);
}

}  // namespace

void write_overlay_png(const std::string& png_path, const std::string& image_path, const ScoreMap& map,
                       const ImageDetail& detail) {
    const cv::Mat image = cv::imread(image_path, cv::IMREAD_COLOR);
    WSOL_CHECK(!image.empty(), image_path, ": cannot read the image for the overlay");
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(map.width, map.height), 0, 0, cv::INTER_LINEAR);
    cv::Mat levels(map.height, map.width, CV_8UC1);
    for (int y = 0; y < map.height; ++y) {
        for (int x = 0; x < map.width; ++x) {
            levels.at<uint8_t>(y, x) = uint8_t(std::clamp(map.at(y, x), 0.0, 1.0) * 255.0);
        }
    }
    cv::Mat heat, blended;
    cv::applyColorMap(levels, heat, cv::COLORMAP_JET);
    cv::addWeighted(resized, 0.5, heat, 0.5, 0.0, blended);
    const int scale = std::max(1, (448 + std::min(map.height, map.width) - 1) / std::min(map.height, map.width));
    cv::Mat canvas;
    cv::resize(blended, canvas, cv::Size(map.width * scale, map.height * scale), 0, 0, cv::INTER_NEAREST);
    for (const Box& b : detail.gt_boxes) draw_box(canvas, b, scale, cv::Scalar(0, 255, 0), 2);
    for (const BoxAtThreshold& a : detail.all) {
        if (a.iou_threshold == 50) draw_box(canvas, a.box, scale, cv::Scalar(0, 255, 255), 2);
    }
    draw_box(canvas, detail.largest.box, scale, cv::Scalar(0, 0, 255), 2);
    std::vector<uint8_t> png;
    WSOL_CHECK(cv::imencode(".png", canvas, png), png_path, ": PNG encoding failed");
    write_file_atomic(png_path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

void write_overlay_index(const std::string& dir, const std::vector<ImageDetail>& details,
                         const std::vector<std::string>& png_names, const std::string& title) {
    WSOL_CHECK(details.size() == png_names.size(), "write_overlay_index: ", details.size(), " details for ",
               png_names.size(), " images");
    std::ostringstream html;
    html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(title) << "</title>\n"
         << "<style>body{font-family:sans-serif} td{padding:4px;vertical-align:top} img{width:336px}"
         << " .ok{color:#080} .miss{color:#b00}</style></head><body>\n"
         << "<h1>" << html_escape(title) << "</h1>\n"
         << "<p>Green: GT boxes. Red: MaxBoxAcc box (largest contour at its best threshold, IoU 0.5). Yellow: "
         << "best-matching MaxBoxAccV2 box at IoU 0.5's best threshold.</p>\n<table>\n"
         << "<tr><th>#</th><th>overlay</th><th>image</th><th>MaxBoxAcc IoU</th><th>V2 IoU (0.3 / 0.5 / 0.7)</th></tr>\n";
    for (size_t i = 0; i < details.size(); ++i) {
        const ImageDetail& d = details[i];
        auto cell = [](const BoxAtThreshold& a) {
            char buffer[64];
            std::snprintf(buffer, sizeof buffer, "<span class=\"%s\">%.3f</span>", a.correct ? "ok" : "miss", a.iou);
            return std::string(buffer);
        };
        html << "<tr><td>" << d.index + 1 << "</td><td><a href=\"" << url_path(png_names[i]) << "\"><img src=\""
             << url_path(png_names[i]) << "\" loading=\"lazy\"></a></td><td>" << html_escape(d.image_id) << "</td><td>"
             << cell(d.largest) << "</td><td>";
        for (size_t k = 0; k < d.all.size(); ++k) html << (k ? " / " : "") << cell(d.all[k]);
        html << "</td></tr>\n";
    }
    html << "</table></body></html>\n";
    write_file_atomic(dir + "/index.html", html.str());
}

}  // namespace wsol::eval
