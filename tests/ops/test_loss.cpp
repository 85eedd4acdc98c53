// Losses: PyTorch fixtures (every reduction, label smoothing + ignore_index + class weights,
// spatial targets, BCE weights and pos_weight), finite-difference gradients in float64, and the
// argument errors.
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

Tensor targets(const std::vector<int64_t>& values, const Shape& shape) { return Tensor::from_vector(values, shape); }

TEST(CrossEntropy, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "cross_entropy_mean", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1])};
    });
    expect_matches_fixture(f, "cross_entropy_mean", [](const TensorList& in) {
        return TensorList{cross_entropy(non_contiguous(in[0]), in[1])};
    });
    expect_matches_fixture(f, "cross_entropy_none", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::None)};
    });
    expect_matches_fixture(f, "cross_entropy_sum", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::Sum)};
    });
    expect_matches_fixture(f, "cross_entropy_smooth_ignore_weight", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::Mean, 0.1, -100, in[2])};
    });
    expect_matches_fixture(f, "cross_entropy_smooth_ignore_sum", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::Sum, 0.3)};
    });
    expect_matches_fixture(f, "cross_entropy_spatial", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::Mean, 0.2, 2, in[2])};
    });
    expect_matches_fixture(f, "cross_entropy_spatial", [](const TensorList& in) {
        return TensorList{cross_entropy(non_contiguous(in[0]), in[1], Reduction::Mean, 0.2, 2, in[2])};
    });
    expect_matches_fixture(f, "cross_entropy_spatial_none", [](const TensorList& in) {
        return TensorList{cross_entropy(in[0], in[1], Reduction::None, 0.1)};
    });
}

TEST(NllLoss, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "nll_loss_weight_ignore", [](const TensorList& in) {
        return TensorList{nll_loss(in[0], in[1], Reduction::Mean, -100, in[2])};
    });
    expect_matches_fixture(f, "nll_loss_spatial_none", [](const TensorList& in) {
        return TensorList{nll_loss(in[0], in[1], Reduction::None)};
    });
}

TEST(CrossEntropy, EqualsLogSoftmaxThenNll) {
    // Two independent paths (fused kernel vs log_softmax + nll_loss) agree, also for the gradient.
    Tensor x = random_leaf({5, 7}, 1, -3, 3);
    Tensor t = targets({0, 6, 3, -100, 2}, {5});
    Tensor w = testing::random_tensor({7}, 2, 0.5, 2.0, kFloat64);
    TensorList g1 = grad(cross_entropy(x, t, Reduction::Mean, 0.0, -100, w), {x});
    TensorList g2 = grad(nll_loss(log_softmax(x, 1), t, Reduction::Mean, -100, w), {x});
    EXPECT_TRUE(all_close(g1[0], g2[0], 1e-12, 1e-14));
    EXPECT_TRUE(all_close(cross_entropy(x, t, Reduction::None), nll_loss(log_softmax(x, 1), t, Reduction::None),
                          1e-12, 1e-14));
}

TEST(CrossEntropy, IgnoredAndEdgeCases) {
    // Every target ignored: the mean is 0 / 0 = NaN (PyTorch), the sum 0.
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
    Tensor all_ignored = targets({-100, -100}, {2});
    EXPECT_TRUE(std::isnan(cross_entropy(x, all_ignored).item<float>()));
    EXPECT_EQ(cross_entropy(x, all_ignored, Reduction::Sum).item<float>(), 0.0f);
    // Worked by hand: logits (0, 0) and target 1 give log 2; (C) logits with a 0-dim target work.
    Tensor zero = Tensor::zeros({2});
    EXPECT_NEAR(cross_entropy(zero, Tensor::scalar<int64_t>(1)).item<float>(), std::log(2.0f), 1e-7);
    EXPECT_EQ(cross_entropy(zero, Tensor::scalar<int64_t>(1), Reduction::None).shape(), Shape{});
    // Very confident logits: a huge margin gives 0 loss, a huge wrong margin gives the margin.
    Tensor big = Tensor::from_vector<float>({1000.0f, -1000.0f}, {1, 2});
    EXPECT_EQ(cross_entropy(big, targets({0}, {1})).item<float>(), 0.0f);
    EXPECT_NEAR(cross_entropy(big, targets({1}, {1})).item<float>(), 2000.0f, 1e-3);
}

TEST(CrossEntropyGrad, MatchesFiniteDifferences) {
    Tensor w = testing::random_tensor({4}, 3, 0.5, 2.0, kFloat64);
    Tensor t = targets({3, -100, 0, 1, 2, 1}, {6});
    for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
        for (double smoothing : {0.0, 0.15}) {
            for (bool weighted : {false, true}) {
                SCOPED_TRACE(std::string(reduction_name(r)) + ", smoothing " + std::to_string(smoothing) +
                             (weighted ? ", weighted" : ""));
                auto ce = [&](const TensorList& in) {
                    return TensorList{cross_entropy(in[0], t, r, smoothing, -100, weighted ? w : Tensor())};
                };
                EXPECT_TRUE(gradcheck_ok(ce, {random_leaf({6, 4}, 4, -2, 2)}));
                EXPECT_TRUE(gradcheck_ok(ce, {random_strided_leaf({6, 4}, 5, -2, 2)}));
            }
        }
    }
    // Spatial targets (N, C, H, W) with a custom ignore_index.
    Tensor ts = targets({0, 2, 1, 1, 2, 0, 0, 1}, {2, 2, 2});
    auto spatial = [&](const TensorList& in) {
        return TensorList{cross_entropy(in[0], ts, Reduction::Mean, 0.1, 1, Tensor())};
    };
    EXPECT_TRUE(gradcheck_ok(spatial, {random_leaf({2, 3, 2, 2}, 6, -2, 2)}));
    EXPECT_TRUE(gradcheck_ok(spatial, {random_strided_leaf({2, 3, 2, 2}, 7, -2, 2)}));
    auto nll = [&](const TensorList& in) { return TensorList{nll_loss(in[0], ts, Reduction::Sum, 2)}; };
    EXPECT_TRUE(gradcheck_ok(nll, {random_strided_leaf({2, 3, 2, 2}, 8)}));
}

TEST(CrossEntropy, Errors) {
    Tensor x = Tensor::zeros({3, 4});
    EXPECT_WSOL_ERROR(cross_entropy(x, targets({0, 4, 1}, {3})),
                      "cross_entropy: target 4 at position (1) is out of range for 4 classes");
    EXPECT_WSOL_ERROR(cross_entropy(Tensor::zeros({2, 3, 2}), targets({0, 1, 2, -1}, {2, 2})),
                      "cross_entropy: target -1 at position (1,1) is out of range for 3 classes");
    EXPECT_WSOL_ERROR(cross_entropy(x, targets({0, 1}, {2})), "cross_entropy: input of shape (3,4) needs a target of "
                                                              "shape (3), got (2)");
    EXPECT_WSOL_ERROR(cross_entropy(x, Tensor::zeros({3})), "cross_entropy: target must hold int64 class indices, got "
                                                            "float32");
    EXPECT_WSOL_ERROR(cross_entropy(x, targets({0, 1, 2}, {3}), Reduction::Mean, 0.0, -100, Tensor::zeros({3})),
                      "cross_entropy: class_weight has shape (3), expected (4)");
    EXPECT_WSOL_ERROR(cross_entropy(x, targets({0, 1, 2}, {3}), Reduction::Mean, 1.5),
                      "label_smoothing must be in [0, 1], got 1.5");
    Tensor w = ones({4}).set_requires_grad(true);
    EXPECT_WSOL_ERROR(cross_entropy(x, targets({0, 1, 2}, {3}), Reduction::Mean, 0.0, -100, w),
                      "cross_entropy: class_weight requires grad");
    EXPECT_WSOL_ERROR(nll_loss(x, targets({0, 9, 1}, {3})), "nll_loss: target 9 at position (1)");
}

// ---- binary cross-entropy and regression losses ----------------------------------------------------

TEST(PointwiseLoss, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "bce_weight", [](const TensorList& in) {
        return TensorList{binary_cross_entropy(in[0], in[1], in[2])};
    });
    expect_matches_fixture(f, "bce_weight", [](const TensorList& in) {
        return TensorList{binary_cross_entropy(non_contiguous(in[0]), in[1], in[2])};
    });
    expect_matches_fixture(f, "bce_none", [](const TensorList& in) {
        return TensorList{binary_cross_entropy(in[0], in[1], Tensor(), Reduction::None)};
    });
    expect_matches_fixture(f, "bce_logits_weights", [](const TensorList& in) {
        return TensorList{binary_cross_entropy_with_logits(in[0], in[1], in[2], in[3])};
    });
    expect_matches_fixture(f, "bce_logits_sum", [](const TensorList& in) {
        return TensorList{binary_cross_entropy_with_logits(in[0], in[1], Tensor(), Tensor(), Reduction::Sum)};
    });
    expect_matches_fixture(f, "mse_mean", [](const TensorList& in) { return TensorList{mse_loss(in[0], in[1])}; });
    expect_matches_fixture(f, "mse_none", [](const TensorList& in) {
        return TensorList{mse_loss(in[0], non_contiguous(in[1]), Reduction::None)};
    });
    expect_matches_fixture(f, "l1_sum", [](const TensorList& in) {
        return TensorList{l1_loss(in[0], in[1], Reduction::Sum)};
    });
    expect_matches_fixture(f, "l1_mean", [](const TensorList& in) { return TensorList{l1_loss(in[0], in[1])}; });
}

TEST(PointwiseLossGrad, MatchesFiniteDifferences) {
    Tensor w = testing::random_tensor({1, 3}, 1, 0.5, 1.5, kFloat64);
    Tensor pw = testing::random_tensor({3}, 2, 0.5, 3.0, kFloat64);
    for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
        SCOPED_TRACE(reduction_name(r));
        auto bce = [&](const TensorList& in) { return TensorList{binary_cross_entropy(in[0], in[1], w, r)}; };
        EXPECT_TRUE(gradcheck_ok(bce, {random_leaf({4, 3}, 3, 0.1, 0.9), random_leaf({4, 3}, 4, 0.0, 1.0)}));
        EXPECT_TRUE(gradcheck_ok(bce, {random_strided_leaf({4, 3}, 5, 0.1, 0.9), random_leaf({4, 3}, 6, 0.0, 1.0)}));
        auto bcel = [&](const TensorList& in) {
            return TensorList{binary_cross_entropy_with_logits(in[0], in[1], w, pw, r)};
        };
        EXPECT_TRUE(gradcheck_ok(bcel, {random_leaf({4, 3}, 7, -4, 4), random_strided_leaf({4, 3}, 8, 0.0, 1.0)}));
        auto mse = [&](const TensorList& in) { return TensorList{mse_loss(in[0], in[1], r)}; };
        EXPECT_TRUE(gradcheck_ok(mse, {random_strided_leaf({3, 5}, 9), random_leaf({3, 5}, 10)}));
        auto l1 = [&](const TensorList& in) { return TensorList{l1_loss(in[0], in[1], r)}; };
        EXPECT_TRUE(gradcheck_ok(l1, {random_leaf({3, 5}, 11), random_strided_leaf({3, 5}, 12)}));
    }
}

TEST(PointwiseLoss, ClampsAndSigns) {
    // BCE at the ends of [0, 1]: log clamped at -100, so a certain wrong answer costs exactly 100.
    Tensor p = Tensor::from_vector<float>({0.0f, 1.0f, 1.0f}, {3});
    Tensor t = Tensor::from_vector<float>({1.0f, 0.0f, 1.0f}, {3});
    EXPECT_EQ(binary_cross_entropy(p, t, Tensor(), Reduction::None).to_vector<float>(),
              (std::vector<float>{100.0f, 100.0f, 0.0f}));
    // BCE with logits stays finite and exact for large |x|: x = 100, t = 0 -> loss 100.
    Tensor x = Tensor::from_vector<float>({100.0f, -100.0f}, {2});
    Tensor z = Tensor::from_vector<float>({0.0f, 0.0f}, {2});
    EXPECT_EQ(binary_cross_entropy_with_logits(x, z, Tensor(), Tensor(), Reduction::None).to_vector<float>(),
              (std::vector<float>{100.0f, 0.0f}));
    // l1 gradient: sign(a - b), 0 where equal.
    Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3}).set_requires_grad(true);
    Tensor b = Tensor::from_vector<float>({2, 2, 1}, {3});
    backward(l1_loss(a, b, Reduction::Sum));
    EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{-1, 0, 1}));
}

TEST(PointwiseLoss, Errors) {
    Tensor a = Tensor::zeros({2, 3});
    EXPECT_WSOL_ERROR(mse_loss(a, Tensor::zeros({3})), "mse_loss: input of shape (2,3) and target of shape (3) differ");
    EXPECT_WSOL_ERROR(l1_loss(a, Tensor::zeros({2, 3}, kFloat64)), "l1_loss: dtypes float32 and float64 differ");
    EXPECT_WSOL_ERROR(binary_cross_entropy(full({2}, 1.5), full({2}, 1.0)),
                      "binary_cross_entropy: all elements of the input must be probabilities in [0, 1]");
    EXPECT_WSOL_ERROR(binary_cross_entropy(a, a, Tensor::zeros({4})),
                      "binary_cross_entropy: weight of shape (4) does not broadcast");
    EXPECT_WSOL_ERROR(binary_cross_entropy_with_logits(a, a, Tensor(), Tensor::zeros({2, 1, 3})),
                      "pos_weight of shape (2,1,3) does not broadcast to the input's shape (2,3)");
    EXPECT_WSOL_ERROR(binary_cross_entropy_with_logits(a, Tensor::zeros({2, 1})), "differ (they must be equal)");
}

}  // namespace
}  // namespace wsol
