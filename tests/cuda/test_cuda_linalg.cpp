// CUDA matmul / bmm / linear (ops/cuda/linalg.h through cuBLASLt) against the CPU in float64 on
// the same (rounded) values: plain and transposed views (read without copies), batched products
// with broadcast batch axes and with batch axes that do not merge (heads of a fused qkv tensor),
// accumulation, the bias epilogue of linear, the bias gradient; float32 exact, TF32, bfloat16 and
// float64, accuracy as ||C - ref|| / ||ref||. Then the ops through autograd and autocast.
#include "cuda/op_testing.h"
#include "ops/cpu/linalg.h"
#if WSOL_CUDA
#include "ops/cuda/linalg.h"
#endif

namespace wsol {
namespace {

using namespace testing;

struct Mode {
    DType dtype;
    bool tf32;
    double tolerance;
    const char* name;
};
const Mode kModes[] = {{kFloat32, false, 1e-5, "fp32"},
                       {kFloat32, true, 1e-3, "tf32"},
                       {kBFloat16, false, 1e-2, "bf16"},
                       {kFloat64, false, 1e-12, "fp64"}};

#if WSOL_CUDA

// a @ b in float64 on the CPU, a and b already of out's batch shape.
Tensor reference_matmul(const Tensor& a, const Tensor& b, const Shape& out_shape) {
    Tensor out = Tensor::empty(out_shape, kFloat64);
    cpu::matmul(out, to(to(a, kCPU), kFloat64), to(to(b, kCPU), kFloat64));
    return out;
}

void check_matmul(const std::string& what, const Tensor& a, const Tensor& b, const Mode& mode, bool accumulate = false) {
    SCOPED_TRACE(what + " " + mode.name);
    Shape shape = a.shape();
    shape.back() = b.shape().back();
    Tensor out = accumulate ? random_input(shape, mode.dtype, 77, -1, 1, kGPU) : poisoned(shape, mode.dtype);
    Tensor ref = reference_matmul(a, b, shape);
    if (accumulate) ref = add(ref, to(to(out, kCPU), kFloat64));
    cuda::matmul(out, a, b, accumulate);
    EXPECT_LT(relative_error(out, ref), mode.tolerance);
}

#endif

TEST(CudaLinalg, MatmulLayouts) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    for (const Mode& mode : kModes) {
        AllowTF32Guard tf32(mode.tf32);
        auto rnd = [&](const Shape& s) { return random_input(s, mode.dtype, seed++, -1, 1, kGPU); };
        check_matmul("plain", rnd({67, 45}), rnd({45, 38}), mode);
        check_matmul("A^T view", transpose(rnd({45, 67}), 0, 1), rnd({45, 38}), mode);
        check_matmul("B^T view (a weight)", rnd({67, 45}), transpose(rnd({38, 45}), 0, 1), mode);
        check_matmul("both transposed", transpose(rnd({45, 67}), 0, 1), transpose(rnd({38, 45}), 0, 1), mode);
        check_matmul("batched", rnd({5, 20, 16}), rnd({5, 16, 12}), mode);
        check_matmul("broadcast B", rnd({5, 20, 16}), expand(rnd({16, 12}), {5, 16, 12}), mode);
        check_matmul("broadcast A, 2 batch axes", expand(rnd({1, 1, 20, 16}), {2, 3, 20, 16}), rnd({2, 3, 16, 12}), mode);
        // Heads of a fused (B, N, 3, H, D) tensor: batch axes (B, H) that do not merge.
        Tensor qkv = rnd({2, 9, 3, 4, 8});
        Tensor q = permute(select(qkv, 2, 0), {0, 2, 1, 3}), k = permute(select(qkv, 2, 1), {0, 2, 1, 3});
        check_matmul("q k^T of split heads", q, transpose(k, -2, -1), mode);
        check_matmul("accumulate", rnd({30, 20}), rnd({20, 10}), mode, true);
        // An empty inner dimension: the product is zero.
        Tensor empty_product = poisoned({4, 3}, mode.dtype);
        cuda::matmul(empty_product, rnd({4, 0}), rnd({0, 3}));
        EXPECT_TRUE(gpu_matches(empty_product, Tensor::zeros({4, 3}, mode.dtype), 0.0));
    }
#endif
}

TEST(CudaLinalg, LinearWithBiasAndItsGradient) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    for (const Mode& mode : kModes) {
        AllowTF32Guard tf32(mode.tf32);
        for (bool with_bias : {true, false}) {
            for (bool strided_x : {false, true}) {
                SCOPED_TRACE(std::string(mode.name) + (with_bias ? " bias" : "") + (strided_x ? " strided x" : ""));
                const int64_t rows = 197, in = 64, out = 96;
                Tensor x = strided_x ? transpose(random_input({in, rows}, mode.dtype, seed++, -1, 1, kGPU), 0, 1)
                                     : random_input({rows, in}, mode.dtype, seed++, -1, 1, kGPU);
                Tensor w = random_input({out, in}, mode.dtype, seed++, -1, 1, kGPU);
                Tensor b = with_bias ? random_input({out}, mode.dtype, seed++, -1, 1, kGPU) : Tensor();
                Tensor y = poisoned({rows, out}, mode.dtype);
                cuda::linear(y, x, w, b);
                Tensor ref = reference_matmul(x, transpose(w, 0, 1), {rows, out});
                if (with_bias) ref = add(ref, to(to(b, kCPU), kFloat64));
                EXPECT_LT(relative_error(y, ref), mode.tolerance);
            }
        }
        // The bias gradient: column sums (deterministic reduction).
        Tensor g = random_input({500, 40}, mode.dtype, seed++, -1, 1, kGPU);
        Tensor gb = poisoned({40}, mode.dtype);
        cuda::sum_rows(gb, g);
        EXPECT_LT(relative_error(gb, sum(to(to(g, kCPU), kFloat64), {0})), mode.tolerance);
    }
#endif
}

TEST(CudaLinalg, OpsThroughAutograd) {
    WSOL_REQUIRE_GPU();
    Tensor a = random_input({3, 7, 12}, kFloat64, 200, -1, 1), b = random_input({12, 5}, kFloat64, 201, -1, 1);
    Tensor c = random_input({3, 5, 12}, kFloat64, 202, -1, 1), v = random_input({12}, kFloat64, 203, -1, 1);
    Tensor w = random_input({9, 12}, kFloat64, 204, -1, 1), bias = random_input({9}, kFloat64, 205, -1, 1);
    for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
        const double slack = 4.0;
        expect_op_matches("matmul, batch folded into rows", [](const TensorList& in) { return matmul(in[0], in[1]); },
                          {a, b}, dtype, slack);
        expect_op_matches("matmul, broadcast batch and a transposed operand", [](const TensorList& in) {
            return matmul(in[0], transpose(in[1], -2, -1));
        }, {a, c}, dtype, slack);
        expect_op_matches("matmul with a vector", [](const TensorList& in) { return matmul(in[0], in[1]); }, {a, v},
                          dtype, slack);
        expect_op_matches("bmm", [](const TensorList& in) { return bmm(in[0], transpose(in[1], 1, 2)); }, {a, c}, dtype,
                          slack);
        expect_op_matches("linear", [](const TensorList& in) { return linear(in[0], in[1], in[2]); }, {a, w, bias}, dtype,
                          slack);
    }
}

TEST(CudaLinalg, AutocastMultipliesInBf16AndGradientsReachFloat32Weights) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({16, 32}, kFloat32, 300, -1, 1, kGPU).detach();
    Tensor w = random_input({24, 32}, kFloat32, 301, -1, 1, kGPU).detach(), b = random_input({24}, kFloat32, 302, -1, 1, kGPU).detach();
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    Tensor y, m;
    {
        AutocastGuard autocast;
        y = linear(x, w, b);
        m = matmul(x, transpose(w, 0, 1));
    }
    EXPECT_EQ(y.dtype(), kBFloat16);
    EXPECT_EQ(m.dtype(), kBFloat16);
    backward(sum(to(y, kFloat32)));
    EXPECT_EQ(w.grad().dtype(), kFloat32);
    EXPECT_EQ(b.grad().dtype(), kFloat32);
    EXPECT_EQ(x.grad().dtype(), kFloat32);
    // Against float32 on the CPU: bf16 operands, float32 accumulation.
    Tensor xc = to(x.detach(), kCPU), wc = to(w.detach(), kCPU);
    EXPECT_LT(relative_error(y, linear(xc, wc, to(b.detach(), kCPU))), 1e-2);
    EXPECT_LT(relative_error(w.grad(), matmul(ones({24, 16}), xc)), 1e-2);
}

}  // namespace
}  // namespace wsol
