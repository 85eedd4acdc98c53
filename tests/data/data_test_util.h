// Helpers shared by the data-layer tests: images <-> fixture tensors, pixel differences, a smooth
// test picture, and a scratch directory that cleans up after itself.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "data/image.h"
#include "engine/file_util.h"
#include "support/testing.h"

namespace wsol::data {

inline Image image_from_tensor(const Tensor& t) {
    EXPECT_EQ(t.dim(), 3);
    EXPECT_EQ(t.size(2), 3);
    Image img(int(t.size(1)), int(t.size(0)));
    const std::vector<uint8_t> v = t.to_vector<uint8_t>();
    std::copy(v.begin(), v.end(), img.pixels.begin());
    return img;
}

inline int max_abs_diff(const Image& a, const Image& b) {
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.height, b.height);
    if (a.pixels.size() != b.pixels.size()) return 256;
    int worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return worst;
}

inline double mean_abs_diff(const Image& a, const Image& b) {
    if (a.pixels.size() != b.pixels.size() || a.pixels.empty()) return 256.0;
    double total = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) total += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    return total / double(a.pixels.size());
}

// Same shape and bit-identical float32 values (the tolerance is zero: torchvision parity).
inline ::testing::AssertionResult bitwise_equal(const Tensor& actual, const Tensor& expected) {
    if (actual.shape() != expected.shape())
        return ::testing::AssertionFailure()
               << "shape " << shape_str(actual.shape()) << " vs " << shape_str(expected.shape());
    const std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &e[i], sizeof(float)) != 0 && differ++ == 0) first = i;
    if (differ == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << differ << " of " << a.size() << " values differ; first at " << first << ": "
                                         << a[first] << " vs " << e[first];
}

// Smooth colour waves with a few sharp-edged discs: photo-like enough for JPEG and resize tests.
inline Image test_picture(int width, int height, int seed) {
    Image img(width, height);
    const double a = 0.01 + 0.003 * seed, b = 0.017 + 0.002 * seed;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            uint8_t* p = img.row(y) + 3 * size_t(x);
            for (int c = 0; c < 3; ++c)
                p[c] = uint8_t(127.5 + 100 * std::sin(a * (c + 1) * x + b * (3 - c) * y + seed));
            const double dx = x - width * 0.4, dy = y - height * 0.55;
            if (dx * dx + dy * dy < 0.04 * width * width) p[0] = 250, p[1] = 30, p[2] = 60;
            if (((x / 37) + (y / 41)) % 7 == 0) p[2] = 10;
        }
    }
    return img;
}

// A fresh directory under the system temp folder, removed (recursively) at the end of the test.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& tag) {
        std::string pattern = (std::filesystem::temp_directory_path() / ("wsol_" + tag + "_XXXXXX")).string();
        char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
    // Writes `text` to path()/rel, creating folders.
    std::string write(const std::string& rel, const std::string& text) const {
        const std::filesystem::path p = std::filesystem::path(path_) / rel;
        std::filesystem::create_directories(p.parent_path());
        write_file_atomic(p.string(), text);
        return p.string();
    }

private:
    std::string path_;
};

}  // namespace wsol::data
