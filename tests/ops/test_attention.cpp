// attention (ops/attention.h) on the CPU: float64 finite differences with and without the key
// gate and on non-contiguous q/k/v, PyTorch fixtures (tools/reference/ops_attention.py), a direct
// formula check, and the errors. CPU-vs-CUDA comparisons are in tests/cuda/test_cuda_attention.cpp.
#include <cmath>

#include "support/fixtures.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;

// The formula written with ordinary ops: (softmax(q k^T scale) * gate) v.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& gate) {
    Tensor s = mul(sum(mul(unsqueeze(q, 3), unsqueeze(k, 2)), {-1}), scale);  // (B, H, Nq, Nk)
    Tensor p = exp(sub(s, logsumexp(s, {-1}, true)));
    if (gate.defined()) p = mul(p, unsqueeze(unsqueeze(gate, 1), 1));
    return sum(mul(unsqueeze(p, -1), unsqueeze(v, 2)), {3});  // (B, H, Nq, D)
}

TEST(Attention, MatchesTheFormulaBuiltFromOtherOps) {
    Tensor q = random_leaf({2, 3, 5, 4}, 1), k = random_leaf({2, 3, 6, 4}, 2), v = random_leaf({2, 3, 6, 4}, 3);
    Tensor gate = random_leaf({2, 6}, 4, 0.1, 1.2);
    EXPECT_TRUE(all_close(attention(q, k, v, 0.7, gate), reference_attention(q, k, v, 0.7, gate), 1e-12, 1e-12));
    EXPECT_TRUE(all_close(attention(q, k, v, 0.7), reference_attention(q, k, v, 0.7, Tensor()), 1e-12, 1e-12));
}

TEST(Attention, GateOfOnesIsPlainAttention) {
    Tensor q = random_leaf({1, 2, 4, 3}, 5), k = random_leaf({1, 2, 4, 3}, 6), v = random_leaf({1, 2, 4, 3}, 7);
    EXPECT_TRUE(all_close(attention(q, k, v, 0.5, ones({1, 4}, kFloat64)), attention(q, k, v, 0.5), 1e-14, 1e-14));
}

TEST(Attention, GradcheckWithGate) {
    auto f = [](const TensorList& in) { return TensorList{attention(in[0], in[1], in[2], 0.6, in[3])}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 2, 3, 4}, 11), random_leaf({2, 2, 5, 4}, 12),
                                 random_leaf({2, 2, 5, 4}, 13), random_leaf({2, 5}, 14, -1.0, 1.5)}));
}

TEST(Attention, GradcheckWithoutGate) {
    auto f = [](const TensorList& in) { return TensorList{attention(in[0], in[1], in[2], 0.9)}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({1, 3, 4, 2}, 21), random_leaf({1, 3, 4, 2}, 22),
                                 random_leaf({1, 3, 4, 2}, 23)}));
}

TEST(Attention, GradcheckNonContiguous) {
    // q, k, v as transposed leaves, and as head-split views of one (B, N, H, D) projection.
    auto f = [](const TensorList& in) { return TensorList{attention(in[0], in[1], in[2], 0.5, in[3])}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({3, 2, 4, 3}, 31), random_strided_leaf({3, 2, 5, 3}, 32),
                                 random_strided_leaf({3, 2, 5, 3}, 33), random_strided_leaf({3, 5}, 34, 0.0, 1.0)}));
    auto g = [](const TensorList& in) {
        Tensor q = permute(in[0], {0, 2, 1, 3}), k = permute(in[1], {0, 2, 1, 3}), v = permute(in[2], {0, 2, 1, 3});
        return TensorList{attention(q, k, v, 0.5, in[3])};
    };
    EXPECT_TRUE(gradcheck_ok(g, {random_leaf({2, 4, 3, 2}, 35), random_leaf({2, 4, 3, 2}, 36),
                                 random_leaf({2, 4, 3, 2}, 37), random_leaf({2, 4}, 38)}));
}

TEST(Attention, OnlySomeInputsRequireGrad) {
    Tensor q = random_leaf({1, 1, 3, 2}, 41), k = random_leaf({1, 1, 3, 2}, 42);
    Tensor v = random_leaf({1, 1, 3, 2}, 43).detach(), gate = random_leaf({1, 3}, 44).detach();
    backward(sum(attention(q, k, v, 1.0, gate)));
    EXPECT_TRUE(q.grad().defined());
    EXPECT_TRUE(k.grad().defined());
}

class AttentionFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(AttentionFixture, MatchesPyTorch) {
    const TensorFile file = load_safetensors(testing::fixture_path("ops/attention.safetensors"));
    const std::string name = GetParam();
    const double scale = file.at(name + "/scale").item<double>();
    auto f = [scale](const TensorList& in) {
        return TensorList{attention(in[0], in[1], in[2], scale, in.size() > 3 ? in[3] : Tensor())};
    };
    testing::expect_matches_fixture(file, name, f, 1e-10, 1e-12, kFloat64);
    testing::expect_matches_fixture(file, name, f, 1e-5, 1e-6, kFloat32);
}

INSTANTIATE_TEST_SUITE_P(Ops, AttentionFixture,
                         ::testing::Values("gated_self", "ungated", "gated_cross_signed", "gated_vit_like"));

TEST(Attention, RejectsBadInput) {
    Tensor q = Tensor::zeros({1, 2, 3, 4}), k = Tensor::zeros({1, 2, 5, 4});
    EXPECT_WSOL_ERROR(attention(q, k, Tensor::zeros({1, 2, 5, 3}), 1.0), "expected q (B, H, Nq, D) and k, v (B, H, Nk, D)");
    EXPECT_WSOL_ERROR(attention(Tensor::zeros({2, 3, 4}), k, k, 1.0), "q, k, v must be (B, H, N, D)");
    EXPECT_WSOL_ERROR(attention(q, k, k, 1.0, Tensor::zeros({1, 4})), "key_gate must be (B, Nk) = (1, 5), got (1,4)");
    EXPECT_WSOL_ERROR(attention(q, to(k, kFloat64), k, 1.0), "dtypes float32 and float64 differ");
    EXPECT_WSOL_ERROR(attention(q, Tensor::zeros({1, 2, 0, 4}), Tensor::zeros({1, 2, 0, 4}), 1.0), "no keys");
    EXPECT_WSOL_ERROR(attention(to(q, kInt64), to(k, kInt64), to(k, kInt64), 1.0), "expected a floating-point tensor");
}

TEST(Attention, AutocastLeavesCpuTensorsAlone) {
    AutocastGuard autocast;
    Tensor q = random_leaf({1, 1, 2, 2}, 51, -1, 1, kFloat32);
    EXPECT_EQ(attention(q, q, q, 1.0).dtype(), kFloat32);
}

}  // namespace
}  // namespace wsol
