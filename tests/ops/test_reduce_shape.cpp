#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;

TEST(Reduce, SumMeanOverAxes) {
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_EQ(sum(x).item<float>(), 21.0f);
    EXPECT_EQ(sum(x, {0}).to_vector<float>(), (std::vector<float>{5, 7, 9}));
    EXPECT_EQ(sum(x, {-1}, true).shape(), (Shape{2, 1}));
    EXPECT_EQ(mean(x, {1}).to_vector<float>(), (std::vector<float>{2, 5}));
    EXPECT_EQ(sum(transpose(x, 0, 1), {1}).to_vector<float>(), (std::vector<float>{5, 7, 9}));
    EXPECT_WSOL_ERROR(sum(x, {0, 0}), "listed twice");
    EXPECT_WSOL_ERROR(sum(x, {2}), "sum: axis 2 is out of range");
}

TEST(Reduce, MaxMinArg) {
    Tensor x = Tensor::from_vector<float>({1, 5, 5, 0, -2, 3}, {2, 3});
    ValuesIndices m = max(x, 1);
    EXPECT_EQ(m.values.to_vector<float>(), (std::vector<float>{5, 3}));
    EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));  // first of the tied 5s
    EXPECT_EQ(argmin(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(amax(x, {0}).to_vector<float>(), (std::vector<float>{1, 5, 5}));
    EXPECT_WSOL_ERROR(amax(Tensor::zeros({0, 2}), {0}), "empty axis");
}

TEST(Reduce, VarLogsumexpCumsum) {
    Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {4});
    EXPECT_NEAR(var(x).item<double>(), 5.0 / 3.0, 1e-12);
    EXPECT_NEAR(var(x, {}, 0).item<double>(), 1.25, 1e-12);
    EXPECT_NEAR(logsumexp(x, {0}).item<double>(), std::log(std::exp(1) + std::exp(2) + std::exp(3) + std::exp(4)), 1e-12);
    Tensor big = Tensor::from_vector<double>({1000, 1000}, {2});
    EXPECT_NEAR(logsumexp(big, {0}).item<double>(), 1000 + std::log(2.0), 1e-9);
    EXPECT_EQ(cumsum(x, 0).to_vector<double>(), (std::vector<double>{1, 3, 6, 10}));
}

TEST(ReduceGrad, AllReductions) {
    auto check = [](const char* name, auto op) {
        SCOPED_TRACE(name);
        auto f = [&](const TensorList& in) { return TensorList{op(in[0])}; };
        EXPECT_TRUE(gradcheck_ok(f, {random_leaf({3, 4, 2}, 21)}));
        EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({4, 3, 2}, 22)}));
    };
    check("sum_all", [](const Tensor& x) { return sum(x); });
    check("sum_axes", [](const Tensor& x) { return sum(x, {0, 2}); });
    check("sum_keep", [](const Tensor& x) { return sum(x, {1}, true); });
    check("mean", [](const Tensor& x) { return mean(x, {-1}); });
    check("var", [](const Tensor& x) { return var(x, {1}); });
    check("amax", [](const Tensor& x) { return amax(x, {1}); });
    check("amin", [](const Tensor& x) { return amin(x, {0, 1}); });
    check("max", [](const Tensor& x) { return max(x, 1).values; });
    check("min", [](const Tensor& x) { return min(x, -1, true).values; });
    check("logsumexp", [](const Tensor& x) { return logsumexp(x, {1}); });
    check("cumsum", [](const Tensor& x) { return cumsum(x, 1); });
}

TEST(Shape, ViewsShareStorage) {
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor t = transpose(x, 0, 1);
    EXPECT_EQ(t.storage(), x.storage());
    EXPECT_FALSE(t.is_contiguous());
    EXPECT_EQ(contiguous(t).to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
    EXPECT_EQ(reshape(x, {3, -1}).shape(), (Shape{3, 2}));
    EXPECT_EQ(reshape(x, {3, -1}).storage(), x.storage());
    EXPECT_NE(reshape(t, {6}).storage(), x.storage());  // a transposed tensor must be copied
    EXPECT_WSOL_ERROR(view(t, {6}), "cannot be viewed as (6)");
    EXPECT_EQ(select(x, 1, -1).to_vector<float>(), (std::vector<float>{3, 6}));
    EXPECT_EQ(slice(x, 1, 0, 3, 2).to_vector<float>(), (std::vector<float>{1, 3, 4, 6}));
    EXPECT_EQ(slice(x, 1, -2, 100).to_vector<float>(), (std::vector<float>{2, 3, 5, 6}));
    EXPECT_EQ(expand(Tensor::from_vector<float>({7}, {1}), {2, 3}).strides(), (Strides{0, 0}));
    EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 1}));
    EXPECT_EQ(squeeze(unsqueeze(x, 0)).shape(), (Shape{2, 3}));
    EXPECT_EQ(flatten(Tensor::zeros({2, 3, 4}), 1).shape(), (Shape{2, 12}));
    EXPECT_WSOL_ERROR(reshape(x, {4, -1}), "cannot infer -1");
    EXPECT_WSOL_ERROR(narrow(x, 1, 2, 2), "range [2, 4) is outside [0, 3)");
    EXPECT_WSOL_ERROR(permute(x, {0, 0}), "appears twice");
    EXPECT_WSOL_ERROR(expand(x, {2, 4}), "cannot expand (2,3) to (2,4)");
}

TEST(ShapeGrad, AllViews) {
    auto check = [](const char* name, auto op) {
        SCOPED_TRACE(name);
        auto f = [&](const TensorList& in) { return TensorList{op(in[0])}; };
        EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 3, 4}, 31)}));
    };
    check("reshape", [](const Tensor& x) { return reshape(x, {4, 6}); });
    check("permute", [](const Tensor& x) { return permute(x, {2, 0, 1}); });
    check("transpose", [](const Tensor& x) { return transpose(x, 0, 2); });
    check("narrow", [](const Tensor& x) { return narrow(x, 2, 1, 2); });
    check("slice", [](const Tensor& x) { return slice(x, 2, 0, 4, 3); });
    check("select", [](const Tensor& x) { return select(x, 1, 2); });
    check("expand", [](const Tensor& x) { return expand(unsqueeze(x, 0), {3, 2, 3, 4}); });
    check("flatten", [](const Tensor& x) { return flatten(permute(x, {1, 0, 2})); });
    check("contiguous", [](const Tensor& x) { return contiguous(transpose(x, 0, 1)); });
}

TEST(ShapeGrad, ToDtypeReturnsGradientInTheInputDtype) {
    Tensor x = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad(true);
    backward(sum(mul(to(x, kFloat32), 3.0)));
    EXPECT_EQ(x.grad().dtype(), kFloat64);
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3.0, 3.0}));
}

}  // namespace
}  // namespace wsol
