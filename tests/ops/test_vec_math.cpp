// The vectorisable helpers of ops/cpu/vec_math.h against the C library in double precision:
// vec_exp (softmax, cross-entropy, float GELU), including the special values. (The float GELU
// formulas of ops/cpu/gelu_math.h are tested in test_gelu_f32.cpp.)
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

TEST(VecMath, BlockedSumIsAccurateOverLongRows) {
    // 10^6 copies of 0.1f: a float accumulator drifts by ~1%, the blocked sum stays at float rounding.
    std::vector<float> v(1000000, 0.1f);
    const double s = cpu::blocked_sum<float>(int64_t(v.size()), [&](int64_t i) { return v[size_t(i)]; });
    EXPECT_NEAR(s, 1e6 * double(0.1f), 1e-6 * 1e6);
}

}  // namespace
}  // namespace wsol
