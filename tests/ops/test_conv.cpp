// conv2d: PyTorch fixtures (padding, stride, dilation, groups, 1x1, patch embedding, depthwise),
// gradchecks of all three gradients on non-contiguous inputs, and the shape errors.
#include "support/fixtures.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::expect_matches_fixture;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;
using testing::random_tensor;

const TensorFile& fixtures() {
    static const TensorFile file = load_safetensors(testing::fixture_path("ops/linalg.safetensors"));
    return file;
}

// float32 against PyTorch's float64; `k` is the longest reduction among y (C/G kh kw terms),
// grad x (O/G kh kw) and grad W (N Ho Wo). See gemm_atol in test_linalg.cpp for the reasoning.
double conv_atol(int64_t k) { return 1e-6 + 3e-7 * double(k); }

TEST(Conv2d, MatchesPyTorch) {
    using Args = std::tuple<Size2, Size2, Size2, int64_t>;  // stride, padding, dilation, groups
    auto conv = [](Args a) {
        return [a](const TensorList& in) {
            const auto [stride, padding, dilation, groups] = a;
            return TensorList{
                conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), stride, padding, dilation, groups)};
        };
    };
    expect_matches_fixture(fixtures(), "conv_basic", conv({{1, 1}, {1, 1}, {1, 1}, 1}), 1e-5, conv_atol(84));
    expect_matches_fixture(fixtures(), "conv_strided_dilated", conv({{2, 2}, {1, 0}, {2, 1}, 1}), 1e-5, conv_atol(28));
    expect_matches_fixture(fixtures(), "conv_groups", conv({{2, 1}, {1, 1}, {1, 1}, 2}), 1e-5, conv_atol(30));
    expect_matches_fixture(fixtures(), "conv_pointwise", conv({{1, 1}, {0, 0}, {1, 1}, 1}), 1e-5, conv_atol(40));
    expect_matches_fixture(fixtures(), "conv_patch", conv({{4, 4}, {0, 0}, {1, 1}, 1}), 1e-5, conv_atol(64));
    expect_matches_fixture(fixtures(), "conv_depthwise", conv({{1, 1}, {1, 1}, {1, 1}, 3}), 1e-5, conv_atol(36));
}

TEST(Conv2d, UnbatchedInputAndOutputSize) {
    Tensor x = random_tensor({3, 10, 9}, 1);
    Tensor w = random_tensor({4, 3, 3, 3}, 2);
    Tensor y = conv2d(x, w, Tensor(), {2, 2}, {1, 1});
    // floor((10 + 2 - 3) / 2) + 1 = 5, floor((9 + 2 - 3) / 2) + 1 = 5
    EXPECT_EQ(y.shape(), (Shape{4, 5, 5}));
    EXPECT_TRUE(all_close(y, select(conv2d(unsqueeze(x, 0), w, Tensor(), {2, 2}, {1, 1}), 0, 0)));
    // A dilated kernel spans d (k - 1) + 1 pixels: 2 * 2 + 1 = 5 -> floor((10 - 5) / 1) + 1 = 6.
    EXPECT_EQ(conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {2, 2}).shape(), (Shape{4, 6, 5}));
}

TEST(Conv2d, OneByOneEqualsLinearOverChannels) {
    // A 1x1 convolution is a linear map of the channel vector at every pixel: an independent
    // check of the pointwise shortcut through linear().
    Tensor x = random_tensor({2, 5, 3, 4}, 3, -1, 1, kFloat64);
    Tensor w = random_tensor({6, 5, 1, 1}, 4, -1, 1, kFloat64);
    Tensor b = random_tensor({6}, 5, -1, 1, kFloat64);
    Tensor y = conv2d(x, w, b);
    Tensor expected = permute(linear(permute(x, {0, 2, 3, 1}), reshape(w, {6, 5}), b), {0, 3, 1, 2});
    EXPECT_TRUE(all_close(y, expected, 1e-12, 1e-12));
}

// Direct definition of the convolution (no im2col, no BLAS), float64: the independent oracle.
// y[n][o][i][j] = sum over c, a, b of x[n][c][i s0 - p0 + a d0][j s1 - p1 + b d1] w[o][c][a][b].
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, Size2 s, Size2 p, Size2 d) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t outs = w.size(0), kh = w.size(2), kw = w.size(3);
    const int64_t out_h = (height + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1;
    const int64_t out_w = (width + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
    const std::vector<double> vx = x.to_vector<double>(), vw = w.to_vector<double>();
    auto input = [&](int64_t n, int64_t c, int64_t r, int64_t q) {
        const bool inside = r >= 0 && r < height && q >= 0 && q < width;
        return inside ? vx[size_t(((n * channels + c) * height + r) * width + q)] : 0.0;
    };
    std::vector<double> y;
    for (int64_t n = 0; n < batch; ++n) {
        for (int64_t o = 0; o < outs; ++o) {
            for (int64_t i = 0; i < out_h; ++i) {
                for (int64_t j = 0; j < out_w; ++j) {
                    double acc = 0;
                    for (int64_t c = 0; c < channels; ++c) {
                        for (int64_t a = 0; a < kh; ++a) {
                            for (int64_t b = 0; b < kw; ++b) {
                                acc += input(n, c, i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]) *
                                       vw[size_t(((o * channels + c) * kh + a) * kw + b)];
                            }
                        }
                    }
                    y.push_back(acc);
                }
            }
        }
    }
    return y;
}

double dot(const Tensor& a, const Tensor& b) { return sum(mul(a, b)).item<double>(); }

// Sizes large enough for every threading path: one image (im2col, col2im and each GEMM split
// over the threads) and several images (one image per thread). The forward pass is checked
// against the direct definition; the backward pass by the adjoint identity of a bilinear map,
// <conv(x, W), g> = <x, grad_x> = <W, grad_W>.
TEST(Conv2d, LargerInputsOnBothThreadingPaths) {
    for (int64_t batch : {1, 3}) {
        SCOPED_TRACE("batch " + std::to_string(batch));
        Tensor x = testing::random_leaf({batch, 8, 37, 41}, 61);
        Tensor w = testing::random_leaf({16, 8, 3, 3}, 62);
        Tensor b = testing::random_leaf({16}, 64);
        Tensor y = conv2d(x, w, b, {2, 1}, {1, 2}, {1, 2});
        Tensor expected = add(Tensor::from_vector<double>(naive_conv(x, w, {2, 1}, {1, 2}, {1, 2}), y.shape()),
                              reshape(b.detach(), {16, 1, 1}));
        EXPECT_TRUE(all_close(y, expected, 1e-12, 1e-12));
        Tensor g = random_tensor(y.shape(), 63, -1, 1, kFloat64);
        TensorList grads = grad(y, {x, w, b}, g);
        const double reference = dot(sub(y, reshape(b.detach(), {16, 1, 1})), g);
        EXPECT_NEAR(dot(x, grads[0]), reference, 1e-9 * std::abs(reference) + 1e-9);
        EXPECT_NEAR(dot(w, grads[1]), reference, 1e-9 * std::abs(reference) + 1e-9);
        EXPECT_TRUE(all_close(grads[2], sum(g, {0, 2, 3}), 1e-12, 1e-12));
    }
}

TEST(Conv2dGrad, AllGradients) {
    auto f = [](Size2 stride, Size2 padding, Size2 dilation, int64_t groups) {
        return [=](const TensorList& in) {
            return TensorList{
                conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), stride, padding, dilation, groups)};
        };
    };
    EXPECT_TRUE(gradcheck_ok(f({1, 1}, {1, 1}, {1, 1}, 1),
                             {random_leaf({2, 2, 5, 4}, 1), random_leaf({3, 2, 3, 3}, 2), random_leaf({3}, 3)}));
    EXPECT_TRUE(
        gradcheck_ok(f({2, 1}, {0, 2}, {1, 2}, 1), {random_leaf({1, 2, 6, 5}, 4), random_leaf({2, 2, 2, 3}, 5)}))
        << "stride, asymmetric padding, dilation";
    EXPECT_TRUE(gradcheck_ok(f({1, 2}, {1, 0}, {1, 1}, 2),
                             {random_leaf({2, 4, 4, 5}, 6), random_leaf({4, 2, 3, 2}, 7), random_leaf({4}, 8)}))
        << "groups";
    EXPECT_TRUE(gradcheck_ok(f({1, 1}, {0, 0}, {1, 1}, 1), {random_strided_leaf({3, 2, 3, 4}, 9),
                                                            random_leaf({2, 2, 1, 1}, 10), random_leaf({2}, 11)}))
        << "pointwise, non-contiguous input";
    EXPECT_TRUE(gradcheck_ok(f({2, 2}, {0, 0}, {1, 1}, 1),
                             {random_leaf({1, 3, 4, 4}, 12), random_strided_leaf({2, 3, 2, 2}, 13)}))
        << "patch embedding, non-contiguous weight";
    EXPECT_TRUE(gradcheck_ok(f({1, 1}, {1, 1}, {1, 1}, 1), {random_leaf({2, 3, 3}, 14), random_leaf({2, 2, 2, 2}, 15)}))
        << "unbatched";
}

TEST(Conv2dGrad, OnlyTheRequestedGradients) {
    // A frozen input (the first layer) gets no gradient; the weight still does.
    Tensor x = random_tensor({1, 2, 4, 4}, 16, -1, 1, kFloat64);
    Tensor w = random_leaf({3, 2, 3, 3}, 17);
    backward(sum(conv2d(x, w)));
    EXPECT_FALSE(x.grad().defined());
    ASSERT_TRUE(w.grad().defined());
    // d(sum y)/dW[o][c][i][j] = sum of the input pixels tap (i, j) sees: the 2x2 block at (i, j).
    const std::vector<double> vx = x.to_vector<double>(), gw = w.grad().to_vector<double>();
    for (int64_t c = 0; c < 2; ++c) {
        for (int64_t i = 0; i < 3; ++i) {
            for (int64_t j = 0; j < 3; ++j) {
                double expected = 0;
                for (int64_t h = 0; h < 2; ++h) {
                    for (int64_t v = 0; v < 2; ++v) expected += vx[size_t(c * 16 + (h + i) * 4 + v + j)];
                }
                EXPECT_NEAR(gw[size_t((1 * 2 + c) * 9 + i * 3 + j)], expected, 1e-12);
            }
        }
    }
}

TEST(Conv2d, Errors) {
    Tensor x = Tensor::zeros({1, 3, 5, 5});
    EXPECT_WSOL_ERROR(conv2d(Tensor::zeros({3, 5}), Tensor::zeros({4, 3, 3, 3})),
                      "conv2d: expected input (N, C, H, W)");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3})),
                      "conv2d: expected weight (O, C/groups, kh, kw), got (4,3,3)");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 2, 3, 3})),
                      "conv2d: input (1,3,5,5), weight (4,2,3,3), groups=1: expected 2 input channels, got 3");
    EXPECT_WSOL_ERROR(
        conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({3, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2),
        "3 output channels are not divisible by groups=2");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({5})),
                      "conv2d: bias (5) does not match 4 output channels");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 7, 3})),
                      "the padded input (5, 5) is smaller than the dilated kernel (7, 3)");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), {0, 1}), "conv2d: stride must be positive");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), {1, 1}, {-1, 0}),
                      "padding must be non-negative");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 0),
                      "groups must be positive");
    EXPECT_WSOL_ERROR(conv2d(x, Tensor::zeros({4, 3, 3, 3}, kFloat64)), "conv2d: dtypes float32 and float64 differ");
}

}  // namespace
}  // namespace wsol
