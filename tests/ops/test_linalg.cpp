// matmul, bmm, linear and the thread knob: PyTorch fixtures, gradchecks (broadcast batches,
// transposed and strided operands), an independent triple-loop reference for the BLAS layout
// paths, and the error messages.
#include <omp.h>

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

// float32 against PyTorch's float64: a k-term sum of O(1) products rounds to about k * 2^-24 times
// the size of its partial sums (O(sqrt k) for random data); 3e-7 * k leaves a wide margin and
// still catches any wrong term (an error of order 1).
double gemm_atol(int64_t k) { return 1e-6 + 3e-7 * double(k); }

// Independent oracle: (M, K) @ (K, N) by the definition, in double.
std::vector<double> reference_mm(const Tensor& a, const Tensor& b) {
    const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    const Tensor ac = contiguous(a), bc = contiguous(b);
    const std::vector<double> va = ac.to_vector<double>(), vb = bc.to_vector<double>();
    std::vector<double> c(size_t(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            for (int64_t p = 0; p < k; ++p) c[size_t(i * n + j)] += va[size_t(i * k + p)] * vb[size_t(p * n + j)];
        }
    }
    return c;
}

TEST(Linalg, MatchesPyTorch) {
    auto binary = [](Tensor (*op)(const Tensor&, const Tensor&)) {
        return [op](const TensorList& in) { return TensorList{op(in[0], in[1])}; };
    };
    expect_matches_fixture(fixtures(), "mm", binary(matmul), 1e-5, gemm_atol(5));
    expect_matches_fixture(fixtures(), "matmul_broadcast", binary(matmul), 1e-5, gemm_atol(12));
    expect_matches_fixture(fixtures(), "matmul_fold", binary(matmul), 1e-5, gemm_atol(6));
    expect_matches_fixture(fixtures(), "matmul_vec_mat", binary(matmul), 1e-5, gemm_atol(6));
    expect_matches_fixture(fixtures(), "matmul_mat_vec", binary(matmul), 1e-5, gemm_atol(6));
    expect_matches_fixture(fixtures(), "matmul_dot", binary(matmul), 1e-5, gemm_atol(5));
    expect_matches_fixture(fixtures(), "bmm", binary(bmm), 1e-5, gemm_atol(5));
    expect_matches_fixture(
        fixtures(), "matmul_transposed",
        [](const TensorList& in) { return TensorList{matmul(transpose(in[0], -1, -2), transpose(in[1], -1, -2))}; },
        1e-5, gemm_atol(5));
    expect_matches_fixture(
        fixtures(), "linear", [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }, 1e-5,
        gemm_atol(6));
    expect_matches_fixture(
        fixtures(), "linear_nobias", [](const TensorList& in) { return TensorList{linear(in[0], in[1])}; }, 1e-5,
        gemm_atol(3));
}

TEST(Linalg, ShapesFollowNumPy) {
    EXPECT_EQ(matmul(Tensor::zeros({5}), Tensor::zeros({5})).shape(), (Shape{}));
    EXPECT_EQ(matmul(Tensor::zeros({4}), Tensor::zeros({2, 4, 3})).shape(), (Shape{2, 3}));
    EXPECT_EQ(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({4})).shape(), (Shape{2, 3}));
    EXPECT_EQ(matmul(Tensor::zeros({2, 1, 3, 4}), Tensor::zeros({5, 4, 6})).shape(), (Shape{2, 5, 3, 6}));
    EXPECT_EQ(linear(Tensor::zeros({4}), Tensor::zeros({3, 4})).shape(), (Shape{3}));
    EXPECT_EQ(linear(Tensor::zeros({2, 5, 4}), Tensor::zeros({3, 4}), Tensor::zeros({3})).shape(), (Shape{2, 5, 3}));
}

TEST(Linalg, EmptyDimensions) {
    // K = 0: every output element is an empty sum, i.e. 0 (BLAS leaves this case to the caller).
    Tensor y = matmul(Tensor::zeros({3, 0}), Tensor::zeros({0, 2}));
    EXPECT_EQ(y.shape(), (Shape{3, 2}));
    EXPECT_EQ(y.to_vector<float>(), std::vector<float>(6, 0.0f));
    EXPECT_EQ(matmul(Tensor::zeros({0, 4}), Tensor::zeros({4, 2})).shape(), (Shape{0, 2}));
    EXPECT_EQ(linear(Tensor::zeros({0, 4}), Tensor::zeros({3, 4}), Tensor::zeros({3})).shape(), (Shape{0, 3}));
}

// Every way an operand can reach BLAS: row-major, transposed (column-major), a column slice
// (leading dimension > cols), and the copy fallbacks (stepped slice, broadcast rows).
TEST(Linalg, StridedOperandsMatchReference) {
    Tensor base = random_tensor({8, 10}, 31, -1, 1, kFloat64);
    Tensor b = random_tensor({6, 5}, 32, -1, 1, kFloat64);
    const std::vector<std::pair<const char*, Tensor>> operands = {
        {"row-major", narrow(base, 1, 0, 6)},                                       // (8, 6), ld 10
        {"transposed", transpose(narrow(base, 0, 0, 6), 0, 1)},                     // (10, 6) column-major
        {"stepped", slice(base, 1, 0, 12, 2)},                                      // (8, 5) col stride 2: copied
        {"broadcast-row", expand(narrow(narrow(base, 0, 0, 1), 1, 0, 6), {4, 6})},  // row stride 0: copied
    };
    for (const auto& [name, a] : operands) {
        SCOPED_TRACE(name);
        Tensor bb = a.size(1) == 6 ? b : narrow(b, 0, 0, a.size(1));
        Tensor y = matmul(a, bb);
        EXPECT_TRUE(all_close(y, Tensor::from_vector<double>(reference_mm(a, bb), y.shape()), 1e-12, 1e-12));
        Tensor yt = matmul(transpose(bb, 0, 1), transpose(a, 0, 1));  // both operands transposed
        EXPECT_TRUE(all_close(transpose(yt, 0, 1), y, 1e-12, 1e-12));
    }
}

// Batches large and small, so both threading paths of the kernel run (OpenMP over the batch; a
// few large products each split into row blocks (m > n) or column blocks (n > m)), with plain
// and transposed operands; each batch entry is checked against the reference.
TEST(Linalg, BatchedMatchesReferenceOnBothThreadingPaths) {
    for (const Shape& mnk : {Shape{3, 4, 5}, Shape{70, 80, 90}, Shape{90, 70, 80}}) {
        const int64_t m = mnk[0], n = mnk[1], k = mnk[2];
        for (bool transposed_a : {false, true}) {
            SCOPED_TRACE(shape_str(mnk) + (transposed_a ? " A^T" : ""));
            Tensor a = transposed_a ? transpose(random_tensor({3, k, m}, 41, -1, 1, kFloat64), 1, 2)
                                    : random_tensor({3, m, k}, 41, -1, 1, kFloat64);
            Tensor b = random_tensor({3, n, k}, 42, -1, 1, kFloat64);
            Tensor y = matmul(a, transpose(b, 1, 2));
            for (int64_t i = 0; i < 3; ++i) {
                Tensor expected = Tensor::from_vector<double>(
                    reference_mm(select(a, 0, i), transpose(select(b, 0, i), 0, 1)), {m, n});
                EXPECT_TRUE(all_close(select(y, 0, i), expected, 1e-12, 1e-11));
            }
        }
    }
}

TEST(LinalgGrad, Matmul) {
    auto f = [](const TensorList& in) { return TensorList{matmul(in[0], in[1])}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({3, 4}, 1), random_leaf({4, 2}, 2)}));
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 1, 3, 4}, 3), random_leaf({3, 4, 2}, 4)})) << "broadcast batch";
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 3, 4}, 5), random_leaf({4, 2}, 6)})) << "folded rows";
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({4}, 7), random_leaf({2, 4, 3}, 8)})) << "vector @ batch";
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 3, 4}, 9), random_leaf({4}, 10)})) << "batch @ vector";
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({5}, 11), random_leaf({5}, 12)})) << "dot";
    EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({4, 3}, 13), random_strided_leaf({3, 2}, 14)})) << "transposed";
    EXPECT_TRUE(gradcheck_ok(f, {random_strided_leaf({3, 2, 4}, 15), random_leaf({4, 3}, 16)})) << "unfoldable rows";
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({1, 3, 4}, 17), random_strided_leaf({2, 4, 2}, 18)})) << "batch 1 vs 2";
}

TEST(LinalgGrad, MatmulOfTransposedViews) {
    // q @ k^T as in attention: the transpose view of k goes to BLAS without a copy.
    auto f = [](const TensorList& in) { return TensorList{matmul(in[0], transpose(in[1], -2, -1))}; };
    EXPECT_TRUE(gradcheck_ok(f, {random_leaf({2, 3, 4}, 19), random_leaf({2, 5, 4}, 20)}));
}

TEST(LinalgGrad, BmmAndLinear) {
    auto b = [](const TensorList& in) { return TensorList{bmm(in[0], in[1])}; };
    EXPECT_TRUE(gradcheck_ok(b, {random_leaf({2, 3, 4}, 21), random_strided_leaf({2, 4, 2}, 22)}));
    auto l = [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; };
    EXPECT_TRUE(gradcheck_ok(l, {random_leaf({2, 3, 4}, 23), random_leaf({5, 4}, 24), random_leaf({5}, 25)}));
    EXPECT_TRUE(gradcheck_ok(l, {random_leaf({4}, 26), random_strided_leaf({5, 4}, 27), random_leaf({5}, 28)}))
        << "1-D input, transposed weight";
    EXPECT_TRUE(gradcheck_ok(l, {random_strided_leaf({3, 2, 4}, 29), random_leaf({2, 4}, 30), random_leaf({2}, 31)}))
        << "non-contiguous input";
    auto nb = [](const TensorList& in) { return TensorList{linear(in[0], in[1])}; };
    EXPECT_TRUE(gradcheck_ok(nb, {random_leaf({3, 4}, 32), random_leaf({2, 4}, 33)}));
}

// Sizes where the kernels split work over threads: linear's fused bias, its row-sum bias
// gradient, and the weight/input gradients, checked against matmul and sum.
TEST(Linalg, LargerLinearMatchesComposition) {
    Tensor x = random_leaf({3, 100, 40}, 71), w = random_leaf({150, 40}, 72), b = random_leaf({150}, 73);
    Tensor y = linear(x, w, b);
    EXPECT_TRUE(all_close(y, add(matmul(x.detach(), transpose(w.detach(), 0, 1)), b.detach()), 1e-12, 1e-12));
    Tensor g = random_tensor(y.shape(), 74, -1, 1, kFloat64);
    TensorList grads = grad(y, {x, w, b}, g);
    EXPECT_TRUE(all_close(grads[0], matmul(g, w.detach()), 1e-12, 1e-12));
    EXPECT_TRUE(all_close(grads[1], matmul(transpose(reshape(g, {300, 150}), 0, 1), reshape(x.detach(), {300, 40})),
                          1e-12, 1e-11));
    EXPECT_TRUE(all_close(grads[2], sum(g, {0, 1}), 1e-12, 1e-12));
}

TEST(Linalg, Errors) {
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})),
                      "matmul: (2,3) @ (4,5): inner dimensions 3 and 4 differ");
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({3}), Tensor::zeros({4})), "matmul: (3) @ (4): inner dimensions 3 and 4");
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})),
                      "matmul: (2,3,4) @ (3,4,5): batch dimensions (2) and (3) do not broadcast");
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({}), Tensor::zeros({3})), "at least one dimension");
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({2, 2}), Tensor::zeros({2, 2}, kFloat64)),
                      "matmul: dtypes float32 and float64");
    EXPECT_WSOL_ERROR(matmul(Tensor::zeros({2, 2}, kInt64), Tensor::zeros({2, 2}, kInt64)),
                      "matmul: expected a floating-point tensor, got int64");
    EXPECT_WSOL_ERROR(bmm(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})), "bmm: expected two 3-D tensors");
    EXPECT_WSOL_ERROR(bmm(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 2})),
                      "bmm: (2,3,4) @ (3,4,2): batch sizes 2 and 3");
    EXPECT_WSOL_ERROR(linear(Tensor::zeros({8, 5}), Tensor::zeros({4, 6})),
                      "linear: input (8,5) has 5 features but weight (4,6) expects 6");
    EXPECT_WSOL_ERROR(linear(Tensor::zeros({8, 6}), Tensor::zeros({4, 6}), Tensor::zeros({5})),
                      "linear: bias (5) does not match weight (4,6)");
    EXPECT_WSOL_ERROR(linear(Tensor::zeros({8, 6}), Tensor::zeros({6})), "linear: weight must be 2-D");
}

TEST(Threads, SetsOpenMPAndBlasTogether) {
    const int before = num_threads();
    set_num_threads(1);
    EXPECT_EQ(num_threads(), 1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    // Still correct single-threaded (the batched path falls back to a plain loop).
    Tensor a = random_tensor({4, 3, 5}, 51, -1, 1, kFloat64), b = random_tensor({5, 2}, 52, -1, 1, kFloat64);
    Tensor y = matmul(a, b);
    EXPECT_TRUE(all_close(select(y, 0, 2), Tensor::from_vector<double>(reference_mm(select(a, 0, 2), b), {3, 2}), 1e-12,
                          1e-12));
    set_num_threads(before);
    EXPECT_EQ(num_threads(), before);
    EXPECT_WSOL_ERROR(set_num_threads(0), "set_num_threads: need at least one thread, got 0");
}

}  // namespace
}  // namespace wsol
