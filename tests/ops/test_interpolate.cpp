// interpolate: PyTorch fixtures for every mode, both align_corners, up/down/odd/2x/to-1 sizes;
// hand-worked values; gradchecks on non-contiguous inputs; errors.
#include "support/fixtures.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::expect_matches_fixture;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;

const TensorFile& fixtures() {
    static const TensorFile file = load_safetensors(testing::fixture_path("ops/linalg.safetensors"));
    return file;
}

struct SizeCase {
    const char* name;
    Size2 out;
};
const SizeCase kSizes[] = {{"up", {7, 9}}, {"down", {3, 4}}, {"odd", {3, 7}}, {"double", {8, 8}}, {"one", {1, 1}}};

TEST(Interpolate, MatchesPyTorch) {
    for (const SizeCase& s : kSizes) {
        auto f = [s](InterpMode mode, bool align) {
            return [=](const TensorList& in) { return TensorList{interpolate(in[0], s.out, mode, align)}; };
        };
        // Nearest copies values: only the float32 rounding of the inputs (2^-24 relative), and of
        // the few gradients summed per input pixel. A wrong source index is an O(1) error.
        // The others sum 4 or 16 weighted float32 terms, and their gradients up to
        // (in/out + 1)^2 such terms per input pixel: a few units of rounding.
        expect_matches_fixture(fixtures(), std::string("nearest_") + s.name, f(InterpMode::Nearest, false), 1e-6, 1e-6);
        for (bool align : {false, true}) {
            const std::string suffix = std::string("_") + s.name + (align ? "_ac" : "_hp");
            expect_matches_fixture(fixtures(), "bilinear" + suffix, f(InterpMode::Bilinear, align), 1e-5, 2e-6);
            expect_matches_fixture(fixtures(), "bicubic" + suffix, f(InterpMode::Bicubic, align), 1e-5, 5e-6);
        }
    }
}

TEST(Interpolate, HandWorkedValues) {
    // Row [0, 10] to 4 pixels, half-pixel centres: src = (o + 0.5) / 2 - 0.5 = -0.25 (clamped to
    // 0), 0.25, 0.75, 1.25 (clamped index 1) -> 0, 2.5, 7.5, 10.
    Tensor row = Tensor::from_vector<float>({0, 10}, {1, 1, 1, 2});
    EXPECT_EQ(interpolate(row, {1, 4}, InterpMode::Bilinear).to_vector<float>(), (std::vector<float>{0, 2.5, 7.5, 10}));
    // align_corners: src = o * (2 - 1) / (4 - 1) -> 0, 10/3, 20/3, 10.
    std::vector<float> ac = interpolate(row, {1, 4}, InterpMode::Bilinear, true).to_vector<float>();
    EXPECT_NEAR(ac[1], 10.0 / 3.0, 1e-5);
    EXPECT_NEAR(ac[2], 20.0 / 3.0, 1e-5);
    // Nearest 3 -> 5: floor(o * 0.6) = 0, 0, 1, 1, 2.
    Tensor three = Tensor::from_vector<float>({1, 2, 3}, {1, 1, 1, 3});
    EXPECT_EQ(interpolate(three, {1, 5}).to_vector<float>(), (std::vector<float>{1, 1, 2, 2, 3}));
    // Bicubic reproduces a constant (its weights sum to 1, border taps clamped), up to the
    // float32 rounding of 16 weighted terms.
    Tensor flat = full({1, 1, 3, 4}, 2.5);
    EXPECT_TRUE(all_close(interpolate(flat, {7, 5}, InterpMode::Bicubic), full({1, 1, 7, 5}, 2.5), 0, 5e-6));
}

TEST(InterpolateGrad, AllModes) {
    for (InterpMode mode : {InterpMode::Nearest, InterpMode::Bilinear, InterpMode::Bicubic}) {
        for (bool align : {false, true}) {
            if (mode == InterpMode::Nearest && align) continue;
            SCOPED_TRACE(std::string(interp_mode_name(mode)) + (align ? " align_corners" : ""));
            for (Size2 size : {Size2{7, 5}, Size2{2, 3}}) {
                auto f = [=](const TensorList& in) { return TensorList{interpolate(in[0], size, mode, align)}; };
                EXPECT_TRUE(gradcheck_ok(f, {random_leaf({1, 2, 4, 3}, 1)}));
                EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({2, 1, 3, 4}, 2)})) << "non-contiguous";
            }
        }
    }
}

TEST(Interpolate, Errors) {
    Tensor x = Tensor::zeros({1, 1, 4, 4});
    EXPECT_WSOL_ERROR(interpolate(Tensor::zeros({4, 4}), {2, 2}),
                      "interpolate: expected input (N, C, H, W), got (4,4)");
    EXPECT_WSOL_ERROR(interpolate(x, {0, 2}), "interpolate: output size must be positive, got (0, 2)");
    EXPECT_WSOL_ERROR(interpolate(x, {2, 2}, InterpMode::Nearest, true), "align_corners is only defined");
    EXPECT_WSOL_ERROR(interpolate(Tensor::zeros({1, 1, 4, 4}, kInt32), {2, 2}), "expected a floating-point tensor");
}

}  // namespace
}  // namespace wsol
