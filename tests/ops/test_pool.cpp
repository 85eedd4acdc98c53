// Pooling: PyTorch fixtures (padding, ceil_mode, dilation, ties, count_include_pad, adaptive
// windows), hand-worked examples, gradchecks on non-contiguous inputs, and the errors.
#include <cmath>

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

TEST(Pool, MatchesPyTorch) {
    using testing::expect_matches_fixture;
    auto fn = [](std::function<Tensor(const Tensor&)> op) {
        return [op](const TensorList& in) { return TensorList{op(in[0])}; };
    };
    expect_matches_fixture(fixtures(), "maxpool_basic", fn([](const Tensor& x) {
                               return max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
                           }));
    expect_matches_fixture(fixtures(), "maxpool_ceil", fn([](const Tensor& x) {
                               return max_pool2d(x, {3, 3}, {2, 2}, {0, 0}, {1, 1}, true);
                           }));
    expect_matches_fixture(fixtures(), "maxpool_dilated", fn([](const Tensor& x) {
                               return max_pool2d(x, {3, 2}, {1, 2}, {1, 1}, {2, 1});
                           }));
    expect_matches_fixture(fixtures(), "maxpool_ties", fn([](const Tensor& x) {
                               return max_pool2d(x, {2, 2}, {1, 1});
                           }));
    // Averages of up to 9 float32 terms: a few units of rounding.
    expect_matches_fixture(fixtures(), "avgpool_pad", fn([](const Tensor& x) {
                               return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1});
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "avgpool_nopadcount", fn([](const Tensor& x) {
                               return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false, false);
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "avgpool_ceil", fn([](const Tensor& x) {
                               return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, true);
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "avgpool_ceil_nopadcount", fn([](const Tensor& x) {
                               return avg_pool2d(x, {2, 3}, {2, 2}, {1, 1}, true, false);
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "adaptive_down", fn([](const Tensor& x) {
                               return adaptive_avg_pool2d(x, {3, 2});
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "adaptive_global", fn([](const Tensor& x) {
                               return adaptive_avg_pool2d(x, {1, 1});
                           }),
                           1e-5, 2e-6);
    expect_matches_fixture(fixtures(), "adaptive_up", fn([](const Tensor& x) {
                               return adaptive_avg_pool2d(x, {4, 5});
                           }),
                           1e-5, 2e-6);
}

TEST(Pool, HandWorkedExamples) {
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], kernel 2, stride 1: maxima 5 6 / 8 9 at flat
    // indices 4 5 / 7 8; averages (1+2+4+5)/4 = 3, 4 / 6, 7.
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    MaxPoolResult m = max_pool2d_with_indices(x, {2, 2}, {1, 1});
    EXPECT_EQ(m.values.to_vector<float>(), (std::vector<float>{5, 6, 8, 9}));
    EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 7, 8}));
    EXPECT_EQ(avg_pool2d(x, {2, 2}, {1, 1}).to_vector<float>(), (std::vector<float>{3, 4, 6, 7}));
    // Stride defaults to the kernel: one 2x2 window at the top left (ceil_mode off drops the rest).
    EXPECT_EQ(max_pool2d(x, {2, 2}).to_vector<float>(), (std::vector<float>{5}));
    // ceil_mode keeps the partial windows: 2x2 output; the corner window holds only 9.
    EXPECT_EQ(max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true).to_vector<float>(), (std::vector<float>{5, 6, 8, 9}));
    // Padding 1, kernel 3, stride 3, count_include_pad: the first window sees 1 2 4 5 and five
    // zeros -> 12 / 9; without counting the padding -> 12 / 4 = 3.
    EXPECT_NEAR(avg_pool2d(x, {3, 3}, {3, 3}, {1, 1}).to_vector<float>()[0], 12.0 / 9.0, 1e-6);
    EXPECT_EQ(avg_pool2d(x, {3, 3}, {3, 3}, {1, 1}, false, false).to_vector<float>()[0], 3.0f);
    // Adaptive 3 -> 2: windows [0, 2) and [1, 3) on each axis (they overlap on the middle row).
    EXPECT_EQ(adaptive_avg_pool2d(x, {2, 2}).to_vector<float>(), (std::vector<float>{3, 4, 6, 7}));
    // 3-D input is a batch of one.
    EXPECT_EQ(max_pool2d(reshape(x, {1, 3, 3}), {2, 2}, {1, 1}).shape(), (Shape{1, 2, 2}));
}

TEST(Pool, MaxPropagatesNaN) {
    Tensor x = Tensor::from_vector<float>({1, NAN, 3, 4}, {1, 1, 2, 2});
    EXPECT_TRUE(std::isnan(max_pool2d(x, {2, 2}).item<float>()));
}

TEST(PoolGrad, AllPools) {
    auto check = [](const char* name, std::function<Tensor(const Tensor&)> op) {
        SCOPED_TRACE(name);
        auto f = [&](const TensorList& in) { return TensorList{op(in[0])}; };
        EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 2, 7, 6}, 1)}));
        EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({3, 2, 5, 6}, 2)})) << "non-contiguous";
    };
    check("max", [](const Tensor& x) { return max_pool2d(x, {3, 3}, {2, 2}, {1, 1}); });
    check("max_ceil_dilated", [](const Tensor& x) { return max_pool2d(x, {2, 3}, {2, 1}, {1, 1}, {2, 1}, true); });
    check("max_overlapping", [](const Tensor& x) { return max_pool2d(x, {3, 3}, {1, 1}); });
    check("avg", [](const Tensor& x) { return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}); });
    check("avg_ceil_nopad", [](const Tensor& x) { return avg_pool2d(x, {3, 2}, {2, 2}, {1, 1}, true, false); });
    check("adaptive_down", [](const Tensor& x) { return adaptive_avg_pool2d(x, {3, 4}); });
    check("adaptive_up", [](const Tensor& x) { return adaptive_avg_pool2d(x, {8, 9}); });
}

TEST(Pool, Errors) {
    Tensor x = Tensor::zeros({1, 2, 4, 4});
    EXPECT_WSOL_ERROR(max_pool2d(Tensor::zeros({4, 4}), {2, 2}),
                      "max_pool2d: expected input (N, C, H, W) or (C, H, W)");
    EXPECT_WSOL_ERROR(max_pool2d(x, {3, 3}, {2, 2}, {2, 2}),
                      "max_pool2d: padding (2, 2) must be between 0 and half the kernel size (3, 3)");
    EXPECT_WSOL_ERROR(avg_pool2d(x, {0, 2}), "avg_pool2d: kernel size must be positive");
    EXPECT_WSOL_ERROR(max_pool2d(x, {2, 2}, {0, 1}), "max_pool2d: stride must be positive");
    EXPECT_WSOL_ERROR(max_pool2d(x, {5, 2}), "max_pool2d: input (1,2,4,4) is too small for kernel (5, 2)");
    EXPECT_WSOL_ERROR(max_pool2d(Tensor::zeros({1, 2, 4, 4}, kInt64), {2, 2}), "expected a floating-point tensor");
    EXPECT_WSOL_ERROR(adaptive_avg_pool2d(x, {0, 2}), "adaptive_avg_pool2d: output size must be positive");
    EXPECT_WSOL_ERROR(avg_pool2d(Tensor::zeros({1, 2, 0, 4}), {1, 1}), "has an empty channel or spatial dimension");
}

}  // namespace
}  // namespace wsol
