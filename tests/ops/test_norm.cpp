// layer_norm and batch_norm: PyTorch fixtures (values, input/weight/bias gradients, running-stat
// updates), finite-difference gradients with and without weight/bias in both batch_norm modes,
// and argument errors.
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

TEST(LayerNorm, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "layer_norm_wb", [](const TensorList& in) {
        return TensorList{layer_norm(in[0], {8}, in[1], in[2])};
    });
    expect_matches_fixture(f, "layer_norm_wb", [](const TensorList& in) {
        return TensorList{layer_norm(non_contiguous(in[0]), {8}, in[1], in[2])};
    });
    expect_matches_fixture(f, "layer_norm_2d", [](const TensorList& in) {
        return TensorList{layer_norm(in[0], {3, 4}, in[1], in[2], 1e-6)};
    });
    expect_matches_fixture(f, "layer_norm_plain", [](const TensorList& in) {
        return TensorList{layer_norm(in[0], {6})};
    });
    expect_matches_fixture(f, "layer_norm_weight_only", [](const TensorList& in) {
        return TensorList{layer_norm(in[0], {5}, in[1])};
    });
}

TEST(LayerNormGrad, MatchesFiniteDifferences) {
    auto ln = [](const Shape& normalized, bool with_weight, bool with_bias) {
        return [=](const TensorList& in) {
            return TensorList{layer_norm(in[0], normalized, with_weight ? in[1] : Tensor(), with_bias ? in[2] : Tensor())};
        };
    };
    for (bool w : {false, true}) {
        for (bool b : {false, true}) {
            SCOPED_TRACE(std::string("weight ") + (w ? "yes" : "no") + ", bias " + (b ? "yes" : "no"));
            EXPECT_TRUE(gradcheck_ok(ln({5}, w, b), {random_leaf({3, 5}, 1), random_leaf({5}, 2), random_leaf({5}, 3)}));
            EXPECT_TRUE(gradcheck_ok(ln({3, 4}, w, b),
                                     {random_strided_leaf({2, 3, 4}, 4), random_leaf({3, 4}, 5), random_leaf({3, 4}, 6)}));
        }
    }
    // Weight and bias as non-contiguous views; a gradient arriving through a broadcast.
    auto strided_params = [](const TensorList& in) {
        return TensorList{sum(layer_norm(in[0], {4}, in[1], in[2]), {0})};
    };
    EXPECT_TRUE(gradcheck_ok(strided_params, {random_leaf({6, 4}, 7), select(random_strided_leaf({4, 2}, 8), 1, 0).detach()
                                                                          .set_requires_grad(true),
                                              random_leaf({4}, 9)}));
}

// add_layer_norm: (x + r, layer_norm(x + r)) with cotangents on both outputs, so the gradient of the
// sum is the one that reaches it directly plus the one through the normalisation.
TEST(AddLayerNorm, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "add_layer_norm", [](const TensorList& in) {
        const AddLayerNorm o = add_layer_norm(in[0], in[1], {8}, in[2], in[3], 1e-6);
        return TensorList{o.sum, o.normed};
    });
    expect_matches_fixture(f, "add_layer_norm", [](const TensorList& in) {  // strided inputs
        const AddLayerNorm o = add_layer_norm(non_contiguous(in[0]), non_contiguous(in[1]), {8}, in[2], in[3], 1e-6);
        return TensorList{o.sum, o.normed};
    });
    expect_matches_fixture(f, "add_layer_norm_plain", [](const TensorList& in) {
        const AddLayerNorm o = add_layer_norm(in[0], in[1], {2, 3});
        return TensorList{o.sum, o.normed};
    });
}

TEST(AddLayerNormGrad, MatchesFiniteDifferences) {
    auto fused = [](const TensorList& in) {
        const AddLayerNorm o = add_layer_norm(in[0], in[1], {5}, in[2], in[3]);
        return TensorList{o.sum, o.normed};
    };
    EXPECT_TRUE(gradcheck_ok(fused, {random_leaf({3, 5}, 11), random_strided_leaf({3, 5}, 12), random_leaf({5}, 13),
                                     random_leaf({5}, 14)}));
    // Only the normalised output used (the post-norm layer's pattern).
    auto normed_only = [](const TensorList& in) { return TensorList{add_layer_norm(in[0], in[1], {2, 3}).normed}; };
    EXPECT_TRUE(gradcheck_ok(normed_only, {random_leaf({4, 2, 3}, 15), random_leaf({4, 2, 3}, 16)}));
}

TEST(AddLayerNorm, SameBitsAsAddThenLayerNorm) {
    for (DType dt : {kFloat32, kFloat64}) {
        SCOPED_TRACE(dtype_name(dt));
        const Tensor x = to(random_leaf({6, 197, 24}, 21), dt).detach().set_requires_grad(true);
        const Tensor r = to(random_leaf({6, 197, 24}, 22), dt).detach().set_requires_grad(true);
        const Tensor w = to(random_leaf({24}, 23), dt).detach().set_requires_grad(true);
        const Tensor b = to(random_leaf({24}, 24), dt).detach().set_requires_grad(true);
        const Tensor c = to(random_leaf({6, 197, 24}, 25), dt).detach();
        const AddLayerNorm fused = add_layer_norm(x, r, {24}, w, b, 1e-6);
        const Tensor h = add(x, r);
        const Tensor y = layer_norm(h, {24}, w, b, 1e-6);
        EXPECT_EQ(fused.sum.to_vector<double>(), h.to_vector<double>());
        EXPECT_EQ(fused.normed.to_vector<double>(), y.to_vector<double>());
        const TensorList g_fused = grad(sum(add(mul(fused.normed, c), fused.sum)), {x, r, w, b});
        const TensorList g_plain = grad(sum(add(mul(y, c), h)), {x, r, w, b});
        for (size_t i = 0; i < g_fused.size(); ++i) {
            EXPECT_EQ(g_fused[i].to_vector<double>(), g_plain[i].to_vector<double>()) << i;
        }
    }
}

TEST(AddLayerNorm, ArgumentErrors) {
    const Tensor x = random_leaf({2, 4}, 31, -1.0, 1.0, kFloat32);
    EXPECT_WSOL_ERROR(add_layer_norm(x, random_leaf({1, 4}, 32, -1.0, 1.0, kFloat32), {4}),
                      "residual of shape (1,4) for an input of shape (2,4)");
    EXPECT_WSOL_ERROR(add_layer_norm(x, random_leaf({2, 4}, 33), {4}), "residual is float64");
    EXPECT_WSOL_ERROR(add_layer_norm(x, random_leaf({2, 4}, 34, -1.0, 1.0, kFloat32), {3}),
                      "add_layer_norm: input of shape (2,4) does not end");
    EXPECT_WSOL_ERROR(add_layer_norm(x, Tensor(), {4}), "undefined input");
}

TEST(LayerNorm, ConstantRowsAndLargeOffsets) {
    // A constant row has zero variance: y = bias exactly (xhat = 0 * rsqrt(eps)).
    Tensor x = full({2, 16}, 3.0);
    Tensor b = Tensor::from_vector<float>(std::vector<float>(16, 0.25f), {16});
    EXPECT_TRUE(all_close(layer_norm(x, {16}, Tensor(), b), full({2, 16}, 0.25), 0, 0));
    // A large common offset must not swamp the variance (two-pass statistics): float32 rows of
    // 1e4 + small values normalise like the small values alone.
    Tensor small = testing::random_tensor({3, 384}, 5);
    EXPECT_TRUE(all_close(layer_norm(add(small, 1e4), {384}), layer_norm(small, {384}), 2e-3, 2e-3));
}

TEST(LayerNorm, Errors) {
    Tensor x = Tensor::zeros({2, 3, 4});
    EXPECT_WSOL_ERROR(layer_norm(x, {3}), "layer_norm: input of shape (2,3,4) does not end with normalized_shape (3)");
    EXPECT_WSOL_ERROR(layer_norm(x, {}), "normalized_shape must have at least one axis");
    EXPECT_WSOL_ERROR(layer_norm(x, {4}, Tensor::zeros({3})), "layer_norm: weight has shape (3), expected (4)");
    EXPECT_WSOL_ERROR(layer_norm(x, {4}, Tensor(), Tensor::zeros({4}, kFloat64)),
                      "layer_norm: bias is float64 but the input is float32");
    EXPECT_WSOL_ERROR(layer_norm(Tensor::zeros({2, 4}, kInt32), {4}), "layer_norm: expected a floating-point tensor");
}

// ---- batch_norm --------------------------------------------------------------------------------------

TEST(BatchNorm, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    // Outputs: y and the running statistics after the in-place update.
    auto train = [](bool strided) {
        return [strided](const TensorList& in) {
            Tensor rm = clone(in[1]), rv = clone(in[2]);
            Tensor y = batch_norm(strided ? non_contiguous(in[0]) : in[0], rm, rv, in[3], in[4], true, 0.1, 1e-5);
            return TensorList{y, rm, rv};
        };
    };
    expect_matches_fixture(f, "batch_norm_train", train(false));
    expect_matches_fixture(f, "batch_norm_train", train(true));
    expect_matches_fixture(f, "batch_norm_eval", [](const TensorList& in) {
        return TensorList{batch_norm(in[0], in[1], in[2], in[3], in[4], false)};
    });
    expect_matches_fixture(f, "batch_norm_train_2d", [](const TensorList& in) {
        return TensorList{batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true)};
    });
}

TEST(BatchNormGrad, MatchesFiniteDifferences) {
    for (bool training : {true, false}) {
        for (bool affine : {true, false}) {
            SCOPED_TRACE(std::string(training ? "training" : "eval") + (affine ? ", affine" : ", plain"));
            Tensor rm = testing::random_tensor({3}, 11, -0.5, 0.5, kFloat64);
            Tensor rv = testing::random_tensor({3}, 12, 0.5, 2.0, kFloat64);
            auto bn = [&](const TensorList& in) {
                return TensorList{batch_norm(in[0], rm, rv, affine ? in[1] : Tensor(), affine ? in[2] : Tensor(),
                                             training)};
            };
            EXPECT_TRUE(gradcheck_ok(bn, {random_leaf({4, 3, 5}, 13), random_leaf({3}, 14), random_leaf({3}, 15)}));
            EXPECT_TRUE(gradcheck_ok(bn, {random_strided_leaf({2, 3, 2, 2}, 16), random_leaf({3}, 17),
                                          random_leaf({3}, 18)}));
            EXPECT_TRUE(gradcheck_ok(bn, {random_strided_leaf({5, 3}, 19), random_leaf({3}, 20), random_leaf({3}, 21)}));
        }
    }
}

TEST(BatchNorm, RunningStatisticsFollowThePyTorchRule) {
    // Worked by hand: channel values {1, 3} and {2, 6} -> batch means 2, 4; biased variances 1, 4;
    // unbiased 2, 8. With momentum 0.5 from (0, 1): mean -> (1, 2), var -> (1.5, 4.5).
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 6}, {2, 2});
    Tensor rm = Tensor::from_vector<float>({0, 0}, {2});
    Tensor rv = Tensor::from_vector<float>({1, 1}, {2});
    Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5, 0.0);
    EXPECT_EQ(rm.to_vector<float>(), (std::vector<float>{1, 2}));
    EXPECT_EQ(rv.to_vector<float>(), (std::vector<float>{1.5f, 4.5f}));
    EXPECT_TRUE(all_close(y, Tensor::from_vector<float>({-1, -1, 1, 1}, {2, 2})));
    // Eval leaves the running statistics alone and uses them.
    Tensor z = batch_norm(x, rm, rv, Tensor(), Tensor(), false, 0.5, 0.0);
    EXPECT_EQ(rm.to_vector<float>(), (std::vector<float>{1, 2}));
    EXPECT_TRUE(all_close(z, Tensor::from_vector<float>({0.0f, 0.0f, 2.0f / std::sqrt(1.5f), 4.0f / std::sqrt(4.5f)},
                                                        {2, 2})));
}

TEST(BatchNorm, Errors) {
    Tensor x = Tensor::zeros({2, 3, 4});
    Tensor c3 = Tensor::zeros({3});
    EXPECT_WSOL_ERROR(batch_norm(Tensor::zeros({3}), c3, c3, Tensor(), Tensor(), false),
                      "batch_norm: expected input of shape (N, C, ...), got (3)");
    EXPECT_WSOL_ERROR(batch_norm(x, Tensor::zeros({4}), c3, Tensor(), Tensor(), false),
                      "batch_norm: running_mean has shape (4), expected (3)");
    EXPECT_WSOL_ERROR(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                      "eval mode needs running_mean and running_var");
    EXPECT_WSOL_ERROR(batch_norm(Tensor::zeros({1, 3}), c3, c3, Tensor(), Tensor(), true),
                      "expected more than 1 value per channel when training, got input of shape (1,3)");
    EXPECT_WSOL_ERROR(batch_norm(x, c3, Tensor(), Tensor(), Tensor(), true), "give both running_mean and running_var");
    EXPECT_WSOL_ERROR(batch_norm(x, c3, c3, Tensor::zeros({3}, kFloat64), Tensor(), true),
                      "batch_norm: weight is float64 but the input is float32");
}

}  // namespace
}  // namespace wsol
