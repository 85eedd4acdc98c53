// softmax / log_softmax: PyTorch fixtures (tools/reference/ops_math.py), finite-difference
// gradients over axes and layouts, the -inf conventions and argument errors.
#include <cmath>

#include "math_helpers.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::expect_matches_fixture;
using testing::gradcheck_ok;
using testing::math_fixtures;
using testing::non_contiguous;
using testing::random_leaf;
using testing::random_strided_leaf;

TensorFunction softmax_along(int64_t axis, bool log, bool strided = false) {
    return [=](const TensorList& in) {
        const Tensor x = strided ? non_contiguous(in[0]) : in[0];
        return TensorList{log ? log_softmax(x, axis) : softmax(x, axis)};
    };
}

TEST(Softmax, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "softmax_last", softmax_along(-1, false));
    expect_matches_fixture(f, "softmax_last", softmax_along(-1, false, true));
    expect_matches_fixture(f, "softmax_mid", softmax_along(1, false));
    expect_matches_fixture(f, "softmax_mid", softmax_along(1, false, true));
    expect_matches_fixture(f, "softmax_first", softmax_along(0, false));
    expect_matches_fixture(f, "softmax_wide", softmax_along(1, false));
    expect_matches_fixture(f, "softmax_large", softmax_along(-1, false));
    expect_matches_fixture(f, "softmax_masked", softmax_along(-1, false));
    expect_matches_fixture(f, "softmax_all_masked", softmax_along(-1, false));
    expect_matches_fixture(f, "log_softmax_last", softmax_along(-1, true));
    expect_matches_fixture(f, "log_softmax_last", softmax_along(1, true, true));
    expect_matches_fixture(f, "log_softmax_mid", softmax_along(1, true));
    expect_matches_fixture(f, "log_softmax_large", softmax_along(0, true));
    expect_matches_fixture(f, "log_softmax_masked", softmax_along(-1, true));
}

TEST(Softmax, MatchesPyTorchInFloat64) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "softmax_mid", softmax_along(1, false), 1e-12, 1e-14, kFloat64);
    expect_matches_fixture(f, "log_softmax_last", softmax_along(-1, true), 1e-12, 1e-14, kFloat64);
}

TEST(Softmax, RowsSumToOneAndLogMatches) {
    // Rows of 1000 random values in float32: softmax sums to 1, exp(log_softmax) equals softmax.
    Tensor x = testing::random_tensor({5, 1000}, 3, -20.0, 20.0);
    Tensor y = softmax(x, -1);
    EXPECT_TRUE(all_close(sum(y, {1}), ones({5}), 1e-5, 1e-6));
    EXPECT_TRUE(all_close(exp(log_softmax(x, -1)), y, 1e-5, 1e-9));
    // Along a middle axis with more than one block of lines (inner = 150 > 64).
    Tensor z = testing::random_tensor({2, 7, 150}, 4);
    EXPECT_TRUE(all_close(sum(softmax(z, 1), {1}), ones({2, 150}), 1e-5, 1e-6));
}

TEST(Softmax, MinusInfinityConventions) {
    const float inf = INFINITY;
    // A partly masked row: masked entries get exactly 0 (log: -inf); a fully masked row is NaN.
    Tensor x = Tensor::from_vector<float>({0.f, -inf, 0.f, -inf, -inf, -inf}, {2, 3});
    std::vector<float> y = softmax(x, -1).to_vector<float>();
    EXPECT_EQ(y[0], 0.5f);
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[2], 0.5f);
    for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isnan(y[size_t(i)]));
    std::vector<float> l = log_softmax(x, -1).to_vector<float>();
    EXPECT_EQ(l[1], -inf);
    EXPECT_TRUE(std::isnan(l[4]));
    // A 0-dim tensor is a row of one: softmax 1, log_softmax 0.
    EXPECT_EQ(softmax(Tensor::scalar<float>(3.0f), 0).item<float>(), 1.0f);
    EXPECT_EQ(log_softmax(Tensor::scalar<float>(3.0f), -1).item<float>(), 0.0f);
}

TEST(SoftmaxGrad, MatchesFiniteDifferences) {
    for (bool log : {false, true}) {
        SCOPED_TRACE(log ? "log_softmax" : "softmax");
        EXPECT_TRUE(gradcheck_ok(softmax_along(-1, log), {random_leaf({3, 5}, 1, -3, 3)}));
        EXPECT_TRUE(gradcheck_ok(softmax_along(0, log), {random_leaf({4, 3}, 2, -3, 3)}));
        EXPECT_TRUE(gradcheck_ok(softmax_along(1, log), {random_leaf({2, 4, 3}, 3, -3, 3)}));
        EXPECT_TRUE(gradcheck_ok(softmax_along(2, log), {random_strided_leaf({3, 2, 4}, 4, -3, 3)}));
        EXPECT_TRUE(gradcheck_ok(softmax_along(0, log), {random_strided_leaf({4, 3}, 5, -3, 3)}));
        // The gradient arriving broadcast (stride 0) from a reduction.
        auto summed = [log](const TensorList& in) {
            return TensorList{sum(mul(log ? log_softmax(in[0], 1) : softmax(in[0], 1), in[0]))};
        };
        EXPECT_TRUE(gradcheck_ok(summed, {random_leaf({2, 3, 2}, 6, -3, 3)}));
    }
}

TEST(Softmax, Errors) {
    Tensor x = Tensor::zeros({2, 3});
    EXPECT_WSOL_ERROR(softmax(x, 2), "softmax: axis 2 is out of range");
    EXPECT_WSOL_ERROR(log_softmax(x, -3), "log_softmax: axis -3 is out of range");
    EXPECT_WSOL_ERROR(softmax(Tensor::zeros({2}, kInt64), 0), "softmax: expected a floating-point tensor, got int64");
    EXPECT_WSOL_ERROR(softmax(Tensor(), 0), "softmax: undefined input");
}

}  // namespace
}  // namespace wsol
