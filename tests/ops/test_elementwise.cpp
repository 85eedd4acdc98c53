#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;

TEST(Elementwise, BroadcastingArithmetic) {
    Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
    Tensor b = Tensor::from_vector<float>({10, 20}, {2});
    EXPECT_TRUE(all_close(a + b, Tensor::from_vector<float>({11, 21, 12, 22, 13, 23}, {3, 2})));
    EXPECT_TRUE(all_close(a * 2.0, Tensor::from_vector<float>({2, 4, 6}, {3, 1})));
    EXPECT_TRUE(all_close(1.0 - a, Tensor::from_vector<float>({0, -1, -2}, {3, 1})));
    EXPECT_TRUE(all_close(6.0 / a, Tensor::from_vector<float>({6, 3, 2}, {3, 1})));
    EXPECT_WSOL_ERROR(a + Tensor::zeros({2, 4}), "add: shapes (3,1) and (2,4) cannot be broadcast");
    EXPECT_WSOL_ERROR(a + Tensor::zeros({1}, kFloat64), "add: dtypes float32 and float64 differ");
}

TEST(Elementwise, IntegerAndComparison) {
    Tensor i = Tensor::from_vector<int64_t>({1, -2, 3}, {3});
    EXPECT_EQ((i + i).to_vector<int64_t>(), (std::vector<int64_t>{2, -4, 6}));
    EXPECT_EQ(gt(i, 0.0).to_vector<bool>(), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(abs(i).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
    Tensor f = Tensor::from_vector<float>({1.0f, NAN, INFINITY}, {3});
    EXPECT_EQ(isfinite(f).to_vector<bool>(), (std::vector<bool>{true, false, false}));
    EXPECT_WSOL_ERROR(exp(i), "exp: expected a floating-point tensor");
}

TEST(Elementwise, MaximumPropagatesNaN) {
    Tensor a = Tensor::from_vector<float>({1.0f, NAN}, {2});
    Tensor b = Tensor::from_vector<float>({2.0f, 0.0f}, {2});
    std::vector<float> m = maximum(a, b).to_vector<float>();
    EXPECT_EQ(m[0], 2.0f);
    EXPECT_TRUE(std::isnan(m[1]));
}

TEST(Elementwise, WhereAndClamp) {
    Tensor c = Tensor::from_vector<bool>({true, false}, {2});
    Tensor a = Tensor::from_vector<float>({1, 2}, {2});
    EXPECT_EQ(where(c, a, -1.0).to_vector<float>(), (std::vector<float>{1, -1}));
    EXPECT_EQ(clamp(Tensor::from_vector<float>({-3, 0.5, 9}, {3}), 0.0, 1.0).to_vector<float>(),
              (std::vector<float>{0, 0.5, 1}));
    EXPECT_WSOL_ERROR(clamp(a, 2.0, 1.0), "lower bound 2 is above upper bound 1");
}

// ---- gradchecks: every differentiable op, on broadcast and non-contiguous inputs -------------

using Unary = Tensor (*)(const Tensor&);

struct UnaryCase {
    const char* name;
    Unary fn;
    double low, high;  // input range (inside the domain, away from kinks)
};

class UnaryGrad : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryGrad, MatchesFiniteDifferences) {
    const UnaryCase& c = GetParam();
    auto f = [&](const TensorList& in) { return TensorList{c.fn(in[0])}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({3, 4}, 7, c.low, c.high)}));
    EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({4, 3}, 8, c.low, c.high)})) << "non-contiguous input";
}

Tensor gelu_erf(const Tensor& x) { return gelu(x); }
Tensor gelu_tanh(const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }
Tensor pow_scalar(const Tensor& x) { return pow(x, 2.5); }
Tensor clamp_mid(const Tensor& x) { return clamp(x, -0.5, 0.5); }

INSTANTIATE_TEST_SUITE_P(
    Ops, UnaryGrad,
    ::testing::Values(UnaryCase{"neg", neg, -1, 1}, UnaryCase{"exp", exp, -1, 1}, UnaryCase{"log", log, 0.5, 2},
                      UnaryCase{"sqrt", sqrt, 0.5, 2}, UnaryCase{"rsqrt", rsqrt, 0.5, 2},
                      UnaryCase{"abs", abs, -1, 1}, UnaryCase{"square", square, -1, 1},
                      UnaryCase{"relu", relu, -1, 1}, UnaryCase{"sigmoid", sigmoid, -3, 3},
                      UnaryCase{"tanh", tanh, -2, 2}, UnaryCase{"gelu", gelu_erf, -3, 3},
                      UnaryCase{"gelu_tanh", gelu_tanh, -3, 3}, UnaryCase{"tanhshrink", tanhshrink, -2, 2},
                      UnaryCase{"pow_scalar", pow_scalar, 0.5, 2}, UnaryCase{"clamp", clamp_mid, -1, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ElementwiseGrad, BinaryOpsWithBroadcasting) {
    auto check = [](const char* name, auto op, double low, double high) {
        SCOPED_TRACE(name);
        auto f = [&](const TensorList& in) { return TensorList{op(in[0], in[1])}; };
        EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 1, 3}, 1, low, high), random_leaf({4, 3}, 2, low, high)}));
        EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({3, 4}, 3), random_leaf({4}, 4, low, high)}));
    };
    check("add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, -1, 1);
    check("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, -1, 1);
    check("mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, -1, 1);
    check("div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, 0.5, 2);
    check("maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, -1, 1);
    check("minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, -1, 1);
    auto f = [](const TensorList& in) { return TensorList{pow(in[0], in[1])}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 3}, 5, 0.5, 2), random_leaf({3}, 6, -1, 2)}));
}

TEST(ElementwiseGrad, ScalarOperandsAndWhere) {
    auto f = [](const TensorList& in) {
        return TensorList{add(in[0], 2.0), rsub(1.0, in[0]), mul(in[0], -3.0), div(in[0], 4.0), rdiv(2.0, in[0])};
    };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({5}, 9, 0.5, 2)}));
    Tensor cond = Tensor::from_vector<bool>({true, false, true}, {3});
    auto w = [&](const TensorList& in) { return TensorList{where(cond, in[0], in[1])}; };
    EXPECT_TRUE(gradcheck_ok(w, {random_leaf({2, 3}, 10), random_leaf({1}, 11)}));
}

TEST(ElementwiseGrad, TiesSplitTheGradient) {
    Tensor a = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad(true);
    Tensor b = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad(true);
    backward(sum(maximum(a, b)));
    EXPECT_DOUBLE_EQ(a.grad().item<double>(), 0.5);
    EXPECT_DOUBLE_EQ(b.grad().item<double>(), 0.5);
}

}  // namespace
}  // namespace wsol
