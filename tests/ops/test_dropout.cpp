// dropout and drop_path: the keep statistics, the scaling rule, the gradient (the same mask times
// the same scale), reproducibility from the generator seed, and the identity / all-zero cases.
// No PyTorch fixture: PyTorch's masks come from a different random stream.
#include <cmath>

#include "math_helpers.h"

namespace wsol {
namespace {

using testing::all_close;

TEST(Dropout, KeepsAboutOneMinusPAndScalesTheKept) {
    const double p = 0.3;
    const int64_t n = 200000;
    Generator gen(42);
    Tensor x = full({n}, 2.0);
    std::vector<float> y = dropout(x, p, true, gen).to_vector<float>();
    int64_t kept = 0;
    for (float v : y) {
        if (v != 0.0f) {
            ++kept;
            EXPECT_FLOAT_EQ(v, float(2.0 / (1.0 - p)));  // every kept element is scaled by 1/(1-p)
        }
    }
    // Binomial(n, 0.7): standard deviation sqrt(n p (1-p)) ~ 205; allow 5 of them.
    EXPECT_NEAR(double(kept), double(n) * (1.0 - p), 5.0 * std::sqrt(double(n) * p * (1.0 - p)));
}

TEST(Dropout, GradientIsTheMaskTimesTheScale) {
    Generator gen(7);
    Tensor x = testing::random_tensor({50, 40}, 1, 0.5, 1.5).set_requires_grad(true);  // no zeros
    Tensor y = dropout(x, 0.5, true, gen);
    Tensor g = testing::random_tensor({50, 40}, 2);
    backward(y, g);
    // y = x * mask * 2, so gx = g * mask * 2 = g * y / x exactly where kept, 0 where dropped.
    const std::vector<float> yv = y.to_vector<float>(), xv = x.to_vector<float>(), gv = g.to_vector<float>();
    const std::vector<float> gx = x.grad().to_vector<float>();
    for (size_t i = 0; i < yv.size(); ++i) {
        const float expected = yv[i] == 0.0f ? 0.0f : gv[i] * 2.0f;
        ASSERT_EQ(gx[i], expected) << "element " << i;
    }
    EXPECT_EQ(y.grad_fn()->name(), "dropout");
}

TEST(DropoutGrad, MatchesFiniteDifferences) {
    // A generator re-seeded inside f draws the same mask at every evaluation, so the op is a fixed
    // linear map that finite differences can check (float64, contiguous and strided inputs).
    auto drop = [](bool path) {
        return [path](const TensorList& in) {
            Generator gen(17);
            return TensorList{path ? drop_path(in[0], 0.4, true, gen) : dropout(in[0], 0.4, true, gen)};
        };
    };
    for (bool path : {false, true}) {
        SCOPED_TRACE(path ? "drop_path" : "dropout");
        EXPECT_TRUE(testing::gradcheck_ok(drop(path), {testing::random_leaf({6, 5}, 1)}));
        EXPECT_TRUE(testing::gradcheck_ok(drop(path), {testing::random_strided_leaf({6, 2, 3}, 2)}));
    }
}

TEST(Dropout, SameSeedSameMask) {
    Tensor x = ones({1000});
    Generator a(123), b(123), c(124);
    Tensor ya = dropout(x, 0.4, true, a), yb = dropout(x, 0.4, true, b), yc = dropout(x, 0.4, true, c);
    EXPECT_EQ(ya.to_vector<float>(), yb.to_vector<float>());
    EXPECT_NE(ya.to_vector<float>(), yc.to_vector<float>());
    // The generator advances: a second draw from the same generator is a different mask.
    EXPECT_NE(dropout(x, 0.4, true, a).to_vector<float>(), ya.to_vector<float>());
}

TEST(Dropout, IdentityAndAllZeroCases) {
    Generator gen(1);
    Tensor x = testing::random_tensor({4, 5}, 3);
    EXPECT_TRUE(dropout(x, 0.5, false, gen).is_same(x));
    EXPECT_TRUE(dropout(x, 0.0, true, gen).is_same(x));
    EXPECT_EQ(gen.offset(), 0u);  // no draw was taken
    Tensor xg = testing::random_tensor({4, 5}, 3).set_requires_grad(true);
    Tensor y = dropout(xg, 1.0, true, gen);
    EXPECT_TRUE(all_close(y, zeros_like(x), 0, 0));
    backward(sum(y));
    EXPECT_TRUE(all_close(xg.grad(), zeros_like(x), 0, 0));
    // A non-contiguous input works and gives the same mask as its contiguous copy.
    Generator g1(9), g2(9);
    Tensor t = transpose(x, 0, 1);
    EXPECT_TRUE(all_close(dropout(t, 0.5, true, g1), dropout(contiguous(t), 0.5, true, g2), 0, 0));
}

TEST(Dropout, Errors) {
    Generator gen(1);
    EXPECT_WSOL_ERROR(dropout(ones({3}), 1.5, true, gen), "dropout: probability 1.5 is outside [0, 1]");
    EXPECT_WSOL_ERROR(dropout(ones({3}), -0.1, true, gen), "dropout: probability -0.1 is outside [0, 1]");
    EXPECT_WSOL_ERROR(dropout(Tensor::zeros({3}, kInt64), 0.5, true, gen), "dropout: expected a floating-point tensor");
    EXPECT_WSOL_ERROR(drop_path(Tensor::scalar<float>(1.0f), 0.5, true, gen), "drop_path: expected an input with a batch axis");
}

TEST(DropPath, OneDrawPerSample) {
    const double p = 0.25;
    const int64_t samples = 4000;
    Generator gen(5);
    Tensor x = full({samples, 3, 4}, 1.0);
    std::vector<float> y = drop_path(x, p, true, gen).to_vector<float>();
    int64_t kept = 0;
    for (int64_t s = 0; s < samples; ++s) {
        const float first = y[size_t(s * 12)];
        for (int64_t i = 1; i < 12; ++i) ASSERT_EQ(y[size_t(s * 12 + i)], first) << "sample " << s;
        if (first != 0.0f) {
            ++kept;
            EXPECT_FLOAT_EQ(first, float(1.0 / (1.0 - p)));
        }
    }
    EXPECT_NEAR(double(kept), samples * (1.0 - p), 5.0 * std::sqrt(samples * p * (1.0 - p)));
}

TEST(DropPath, GradientSeedsAndEdgeCases) {
    Generator a(11), b(11);
    Tensor x = testing::random_tensor({64, 2, 3}, 4, 0.5, 1.5).set_requires_grad(true);
    Tensor y = drop_path(x, 0.5, true, a);
    EXPECT_TRUE(all_close(y, drop_path(x.detach(), 0.5, true, b), 0, 0));  // same seed, same samples
    backward(sum(y));
    // d sum(y) / dx = mask * 2: per sample all 2 or all 0, matching whether y kept it.
    const std::vector<float> yv = y.to_vector<float>(), gx = x.grad().to_vector<float>();
    for (size_t i = 0; i < yv.size(); ++i) ASSERT_EQ(gx[i], yv[i] == 0.0f ? 0.0f : 2.0f);
    Generator gen(1);
    EXPECT_TRUE(drop_path(x, 0.5, false, gen).is_same(x));
    EXPECT_TRUE(drop_path(x, 0.0, true, gen).is_same(x));
    EXPECT_TRUE(all_close(drop_path(x, 1.0, true, gen), zeros_like(x.detach()), 0, 0));
}

}  // namespace
}  // namespace wsol
