// Line plots written as PNG (OpenCV drawing, Hershey font): the training curves of a run.
#pragma once

#include <string>
#include <vector>

namespace wsol::train {

struct Series {
    std::string name;
    std::vector<double> x, y;
};

struct Panel {
    std::string title;
    std::string x_label;
    std::vector<Series> series;
};

// Panels side by side, each with its own axes, ticks and legend. Written atomically.
void write_plot_png(const std::string& path, const std::vector<Panel>& panels, int panel_width = 520,
                    int panel_height = 380);

}  // namespace wsol::train
