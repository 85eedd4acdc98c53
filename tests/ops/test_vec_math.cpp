// The vectorisable helpers of ops/cpu/vec_math.h against the C library in double precision:
// vec_exp (softmax, cross-entropy) and vec_normal_cdf (float GELU), including the special values.
#include <cmath>

#include "math_helpers.h"
#include "ops/cpu/vec_math.h"

namespace wsol {
namespace {

TEST(VecMath, ExpIsWithinAboutOneUlp) {
    double worst = 0.0;
    for (float x = -87.0f; x < 88.7f; x += 0.00123f) {
        const double expected = std::exp(double(x));
        worst = std::max(worst, std::fabs(double(cpu::vec_exp(x)) - expected) / expected);
    }
    EXPECT_LT(worst, 1.5e-7);
    const float inf = INFINITY;
    EXPECT_EQ(cpu::vec_exp(0.0f), 1.0f);
    EXPECT_EQ(cpu::vec_exp(-inf), 0.0f);   // a masked logit contributes exactly nothing
    EXPECT_EQ(cpu::vec_exp(-100.0f), 0.0f);
    EXPECT_EQ(cpu::vec_exp(inf), inf);
    EXPECT_EQ(cpu::vec_exp(89.0f), inf);   // past ln(FLT_MAX) = 88.72
    EXPECT_TRUE(std::isfinite(cpu::vec_exp(88.7f)));
    EXPECT_TRUE(std::isnan(cpu::vec_exp(NAN)));
    EXPECT_TRUE(std::isnan(cpu::vec_exp(-NAN)));
}

TEST(VecMath, NormalCdfKeepsRelativeAccuracyInBothTails) {
    double worst_rel = 0.0, worst_abs = 0.0;
    for (float x = -12.0f; x < 12.0f; x += 0.00071f) {
        const double expected = 0.5 * std::erfc(-double(x) / std::sqrt(2.0));
        const double err = std::fabs(double(cpu::vec_normal_cdf(x)) - expected);
        worst_abs = std::max(worst_abs, err);
        if (x > -5.0f) worst_rel = std::max(worst_rel, err / expected);
    }
    EXPECT_LT(worst_rel, 3e-6);   // Phi(-5) ~ 3e-7 is still resolved to a few ppm
    EXPECT_LT(worst_abs, 3e-7);    // a few float32 ulps of values near 0.5
    EXPECT_EQ(cpu::vec_normal_cdf(0.0f), 0.5f);
    EXPECT_EQ(cpu::vec_normal_cdf(INFINITY), 1.0f);
    EXPECT_EQ(cpu::vec_normal_cdf(-INFINITY), 0.0f);
    EXPECT_TRUE(std::isnan(cpu::vec_normal_cdf(NAN)));
}

TEST(VecMath, BlockedSumIsAccurateOverLongRows) {
    // 10^6 copies of 0.1f: a float accumulator drifts by ~1%, the blocked sum stays at float rounding.
    std::vector<float> v(1000000, 0.1f);
    const double s = cpu::blocked_sum<float>(int64_t(v.size()), [&](int64_t i) { return v[size_t(i)]; });
    EXPECT_NEAR(s, 1e6 * double(0.1f), 1e-6 * 1e6);
}

}  // namespace
}  // namespace wsol
