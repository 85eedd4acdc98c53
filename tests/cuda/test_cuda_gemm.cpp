// cuBLASLt GEMM (ops/cuda/gemm.h) against a float64 triple loop on the CPU (an independent oracle:
// it shares no code with the CPU matmul): every transpose combination, alpha/beta, batches with a
// shared operand, padded rows, float32 / TF32 / bfloat16 / float64, every epilogue, and the errors.
// Accuracy is measured as ||C - ref|| / ||ref|| (METHOD.md): float32 1e-5, TF32 1e-3, bf16 1e-2.
#include <cmath>

#include "cuda/cuda_testing.h"
#include "ops/autocast.h"
#if WSOL_CUDA
#include "ops/cuda/gemm.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

// ||a - b|| / ||b|| over all elements (float64 on the CPU).
double relative_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = to(a, kCPU).to_vector<double>(), y = to(b, kCPU).to_vector<double>();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (x[i] - y[i]) * (x[i] - y[i]);
        den += y[i] * y[i];
    }
    return std::isnan(num) ? INFINITY : std::sqrt(num / std::max(den, 1e-300));
}

// C[b] = alpha op(A[b]) op(B[b]) + beta C0[b] in float64; A, B of 2 (shared) or batch dims.
Tensor reference_gemm(const Tensor& a_in, const Tensor& b_in, bool ta, bool tb, double alpha, double beta,
                      const Tensor& c0, const Shape& c_shape) {
    Tensor a = contiguous(to(to(a_in, kCPU), kFloat64)), b = contiguous(to(to(b_in, kCPU), kFloat64));
    const int64_t M = c_shape[c_shape.size() - 2], N = c_shape.back();
    const int64_t K = ta ? a.size(-2) : a.size(-1);
    const int64_t batch = shape_numel(c_shape) / (M * N);
    Tensor c = c0.defined() ? contiguous(to(to(c0, kCPU), kFloat64)) : Tensor::zeros(c_shape, kFloat64);
    Tensor out = Tensor::empty(c_shape, kFloat64);
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    const double* pc = c.data<double>();
    double* po = out.data<double>();
    const int64_t a_step = a.dim() > 2 ? M * K : 0, b_step = b.dim() > 2 ? K * N : 0;
    for (int64_t s = 0; s < batch; ++s) {
        for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < N; ++j) {
                double acc = 0;
                for (int64_t k = 0; k < K; ++k) {
                    const double av = ta ? pa[s * a_step + k * M + i] : pa[s * a_step + i * K + k];
                    const double bv = tb ? pb[s * b_step + j * K + k] : pb[s * b_step + k * N + j];
                    acc += av * bv;
                }
                const int64_t o = s * M * N + i * N + j;
                po[o] = alpha * acc + (beta != 0.0 ? beta * pc[o] : 0.0);
            }
        }
    }
    return out;
}

double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double gelu_tanh_grad(double x) {
    const double t = std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
}

Tensor map_double(const Tensor& x, double (*f)(double)) {
    std::vector<double> v = to(x, kCPU).to_vector<double>();
    for (double& e : v) e = f(e);
    return Tensor::from_vector(v, x.shape());
}

#endif

TEST(CudaGemm, TransposesAlphaBetaAndDtypes) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    const int64_t M = 67, N = 45, K = 38;
    uint64_t seed = 1;
    struct Mode {
        DType ab, c;
        bool tf32;
        double tolerance;
    };
    for (const Mode& mode : {Mode{kFloat32, kFloat32, false, 1e-5}, Mode{kFloat32, kFloat32, true, 1e-3},
                             Mode{kBFloat16, kBFloat16, false, 1e-2}, Mode{kBFloat16, kFloat32, false, 1e-2},
                             Mode{kFloat64, kFloat64, false, 1e-12}}) {
        AllowTF32Guard tf32(mode.tf32);
        for (bool ta : {false, true}) {
            for (bool tb : {false, true}) {
                for (double beta : {0.0, 0.5}) {
                    SCOPED_TRACE(std::string(dtype_name(mode.ab)) + " -> " + dtype_name(mode.c) + (mode.tf32 ? " tf32" : "") +
                                 " ta " + std::to_string(ta) + " tb " + std::to_string(tb) + " beta " + std::to_string(beta));
                    Tensor a = random_input(ta ? Shape{K, M} : Shape{M, K}, mode.ab, seed++, -1, 1, kGPU);
                    Tensor b = random_input(tb ? Shape{N, K} : Shape{K, N}, mode.ab, seed++, -1, 1, kGPU);
                    Tensor c = beta != 0.0 ? random_input({M, N}, mode.c, seed++, -1, 1, kGPU) : poisoned({M, N}, mode.c);
                    const Tensor c0 = to(c, kCPU);
                    cuda::GemmOptions o;
                    o.transpose_a = ta;
                    o.transpose_b = tb;
                    o.alpha = 1.3;
                    o.beta = beta;
                    cuda::gemm(c, a, b, o);
                    const Tensor ref = reference_gemm(a, b, ta, tb, 1.3, beta, c0, {M, N});
                    EXPECT_LT(relative_error(c, ref), mode.tolerance);
                }
            }
        }
    }
#endif
}

TEST(CudaGemm, BatchesSharedOperandsAndPaddedRows) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    // Batched A, shared B (activations x weight^T).
    {
        Tensor a = random_input({3, 4, 20, 16}, kFloat32, seed++, -1, 1, kGPU);
        Tensor w = random_input({24, 16}, kFloat32, seed++, -1, 1, kGPU);
        Tensor c = poisoned({3, 4, 20, 24}, kFloat32);
        cuda::GemmOptions o;
        o.transpose_b = true;
        cuda::gemm(c, a, w, o);
        EXPECT_LT(relative_error(c, reference_gemm(a, w, false, true, 1, 0, Tensor(), c.shape())), 1e-5);
    }
    // Shared A, batched transposed B (a (B, H, N, D) head view), into a padded C.
    {
        Tensor a = random_input({20, 16}, kFloat32, seed++, -1, 1, kGPU);
        Tensor b = random_input({6, 24, 16}, kFloat32, seed++, -1, 1, kGPU);
        Tensor wide = poisoned({6, 20, 40}, kFloat32);
        Tensor c = narrow(wide, 2, 3, 24);  // row stride 40 > 24
        cuda::GemmOptions o;
        o.transpose_b = true;
        cuda::gemm(c, a, b, o);
        EXPECT_LT(relative_error(contiguous(c), reference_gemm(a, b, false, true, 1, 0, Tensor(), c.shape())), 1e-5);
    }
    // Batch axes that merge: a permuted-but-mergeable A, (2, 3) batch of (M, K) with padding.
    {
        Tensor base = random_input({2, 3, 10, 12}, kBFloat16, seed++, -1, 1, kGPU);
        Tensor a = narrow(base, 3, 0, 9);  // (2, 3, 10, 9), row stride 12
        Tensor b = random_input({2, 3, 9, 7}, kBFloat16, seed++, -1, 1, kGPU);
        Tensor c = poisoned({2, 3, 10, 7}, kFloat32);
        cuda::gemm(c, a, b);
        EXPECT_LT(relative_error(c, reference_gemm(a, b, false, false, 1, 0, Tensor(), c.shape())), 1e-2);
    }
    // K = 0: C = beta C.
    {
        Tensor a = random_input({5, 0}, kFloat32, seed++, -1, 1, kGPU), b = random_input({0, 4}, kFloat32, seed++, -1, 1, kGPU);
        Tensor c = random_input({5, 4}, kFloat32, seed++, -1, 1, kGPU);
        const Tensor c0 = to(c, kCPU);
        cuda::GemmOptions o;
        o.beta = 2.0;
        cuda::gemm(c, a, b, o);
        EXPECT_TRUE(all_close(to(c, kCPU), mul(c0, 2.0)));
    }
    // The algorithm is chosen once per distinct request.
    {
        Tensor a = random_input({33, 17}, kFloat32, seed++, -1, 1, kGPU), b = random_input({17, 9}, kFloat32, seed++, -1, 1, kGPU);
        Tensor c = poisoned({33, 9}, kFloat32);
        cuda::gemm(c, a, b);
        const size_t plans = cuda::gemm_plan_cache_size();
        cuda::gemm(c, a, b);
        EXPECT_EQ(cuda::gemm_plan_cache_size(), plans);
    }
#endif
}

TEST(CudaGemm, Epilogues) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    const int64_t M = 64, N = 96, K = 48;
    uint64_t seed = 200;
    for (DType dtype : {kFloat32, kBFloat16}) {
        const double tol = dtype == kFloat32 ? 1e-5 : 1e-2;
        SCOPED_TRACE(dtype_name(dtype));
        Tensor x = random_input({M, K}, dtype, seed++, -1, 1, kGPU);
        Tensor w = random_input({N, K}, dtype, seed++, -1, 1, kGPU);
        Tensor bias = random_input({N}, dtype, seed++, -1, 1, kGPU);
        const Tensor xw = reference_gemm(x, w, false, true, 1, 0, Tensor(), {M, N});  // x w^T, float64
        const Tensor pre = add(xw, to(to(bias, kCPU), kFloat64));
        cuda::GemmOptions o;
        o.transpose_b = true;
        o.bias = bias;
        {  // linear layer: x w^T + b
            Tensor c = poisoned({M, N}, dtype);
            o.epilogue = cuda::GemmEpilogue::Bias;
            cuda::gemm(c, x, w, o);
            EXPECT_LT(relative_error(c, pre), tol) << "bias";
        }
        {  // fc1 of an MLP in training: gelu(x w^T + b), keeping the pre-activation
            Tensor c = poisoned({M, N}, dtype), aux = poisoned({M, N}, dtype);
            o.epilogue = cuda::GemmEpilogue::BiasGeluAux;
            o.aux = aux;
            cuda::gemm(c, x, w, o);
            EXPECT_LT(relative_error(c, map_double(pre, gelu_tanh)), tol) << "bias+gelu (cuBLASLt's GELU is the tanh form)";
            EXPECT_LT(relative_error(aux, pre), tol) << "pre-activation";
            Tensor c2 = poisoned({M, N}, dtype);
            o.epilogue = cuda::GemmEpilogue::BiasGelu;
            o.aux = Tensor();
            cuda::gemm(c2, x, w, o);
            EXPECT_LT(relative_error(c2, map_double(pre, gelu_tanh)), tol) << "bias+gelu";
        }
        {  // the hidden gradient: (dY W) * gelu'(pre), with the bias gradient summed over rows
            Tensor dy = random_input({M, K}, dtype, seed++, -1, 1, kGPU);
            Tensor w2 = random_input({K, N}, dtype, seed++, -1, 1, kGPU);
            Tensor aux = to(to(pre, dtype), kGPU);
            const Tensor expected = mul(reference_gemm(dy, w2, false, false, 1, 0, Tensor(), {M, N}),
                                        map_double(to(aux, kCPU), gelu_tanh_grad));
            cuda::GemmOptions d;
            d.aux = aux;
            d.epilogue = cuda::GemmEpilogue::DGelu;
            Tensor c = poisoned({M, N}, dtype);
            cuda::gemm(c, dy, w2, d);
            EXPECT_LT(relative_error(c, expected), tol) << "dgelu";
            Tensor c2 = poisoned({M, N}, dtype), db = poisoned({N}, dtype);
            d.epilogue = cuda::GemmEpilogue::DGeluBiasGrad;
            d.bias = db;
            cuda::gemm(c2, dy, w2, d);
            EXPECT_LT(relative_error(c2, expected), tol) << "dgelu+bgrad";
            EXPECT_LT(relative_error(db, sum(expected, {0})), tol) << "dgelu bias gradient";
        }
        {  // the weight gradient dW = dY^T X with the bias gradient sum over rows of dY
            Tensor dy = random_input({M, N}, dtype, seed++, -1, 1, kGPU);
            Tensor c = poisoned({N, K}, dtype), db = poisoned({N}, dtype);
            cuda::GemmOptions g;
            g.transpose_a = true;
            g.epilogue = cuda::GemmEpilogue::BiasGradA;
            g.bias = db;
            cuda::gemm(c, dy, x, g);
            EXPECT_LT(relative_error(c, reference_gemm(dy, x, true, false, 1, 0, Tensor(), {N, K})), tol) << "wgrad";
            EXPECT_LT(relative_error(db, sum(to(to(dy, kCPU), kFloat64), {0})), tol) << "bias gradient of A";
            // The mirror image: dW^T = X^T dY, the bias gradient summed from B.
            Tensor ct = poisoned({K, N}, dtype), db2 = poisoned({N}, dtype);
            cuda::GemmOptions h;
            h.transpose_a = true;
            h.epilogue = cuda::GemmEpilogue::BiasGradB;
            h.bias = db2;
            try {
                cuda::gemm(ct, x, dy, h);
                EXPECT_LT(relative_error(ct, reference_gemm(x, dy, true, false, 1, 0, Tensor(), {K, N})), tol);
                EXPECT_LT(relative_error(db2, sum(to(to(dy, kCPU), kFloat64), {0})), tol) << "bias gradient of B";
            } catch (const Error& e) {
                // cuBLASLt offers BGRADA only for some layouts; the error must say which request.
                EXPECT_NE(std::string(e.what()).find("no algorithm"), std::string::npos) << e.what();
                std::printf("note: %s\n", e.what());
            }
        }
    }
#endif
}

TEST(CudaGemm, Errors) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Tensor a = random_input({4, 5}, kFloat32, 1, -1, 1, kGPU), b = random_input({6, 3}, kFloat32, 2, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 3}, kFloat32), a, b), "inner dimensions 5 and 6 differ");
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 3}, kFloat32), a, to(b, kFloat64)), "A and B must have the same dtype");
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 6}, kInt32), a, transpose(b, 0, 1)), "unsupported dtypes");
    Tensor bt = transpose(random_input({3, 5}, kFloat32, 3, -1, 1, kGPU), 0, 1);  // (5, 3), column stride 5
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 3}, kFloat32), a, bt), "last axis of every operand must have stride 1");
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({2, 4, 3}, kFloat32), random_input({3, 4, 5}, kFloat32, 4, -1, 1, kGPU),
                                 random_input({5, 3}, kFloat32, 5, -1, 1, kGPU)),
                      "batch axes of every operand must equal C's");
    cuda::GemmOptions o;
    o.epilogue = cuda::GemmEpilogue::Bias;
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 3}, kFloat32), a, random_input({5, 3}, kFloat32, 6, -1, 1, kGPU), o),
                      "the bias must be a contiguous (3) tensor");
    EXPECT_WSOL_ERROR(cuda::gemm(poisoned({4, 3}, kFloat32), a, Tensor::zeros({5, 3})), "all must be on one CUDA device");
#endif
}

}  // namespace
}  // namespace wsol
