// Reference box extraction through OpenCV (see contours.h).
#include "eval/contours.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace wsol::eval {

std::vector<Box> contour_boxes(const QuantizedMap& map, int level, ContourSelection selection) {
    const cv::Mat image(map.height, map.width, CV_8UC1, const_cast<uint8_t*>(map.levels.data()));
    cv::Mat binary;
    cv::threshold(image, binary, double(level), 255.0, cv::THRESH_BINARY);
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> hierarchy;
    cv::findContours(binary, contours, hierarchy, cv::RETR_TREE, cv::CHAIN_APPROX_SIMPLE);
    if (contours.empty()) return {Box{0, 0, 0, 0}};

    auto to_box = [&](const std::vector<cv::Point>& contour) {
        const cv::Rect r = cv::boundingRect(contour);
        return Box{r.x, r.y, std::min(r.x + r.width, map.width - 1), std::min(r.y + r.height, map.height - 1)};
    };
    std::vector<Box> boxes;
    if (selection == ContourSelection::Largest) {
        // Python's max(contours, key=cv2.contourArea): the first of the largest wins ties.
        size_t best = 0;
        double best_area = cv::contourArea(contours[0]);
        for (size_t i = 1; i < contours.size(); ++i) {
            const double area = cv::contourArea(contours[i]);
            if (area > best_area) {
                best_area = area;
                best = i;
            }
        }
        boxes.push_back(to_box(contours[best]));
    } else {
        for (const auto& contour : contours) boxes.push_back(to_box(contour));
    }
    return boxes;
}

}  // namespace wsol::eval
