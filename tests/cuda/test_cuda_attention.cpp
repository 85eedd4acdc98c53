// The fused CUDA attention kernels (ops/cuda/attention.h; for bfloat16 both the tensor-core and
// the CUDA-core implementation) against the CPU kernels run in float64 on the same (rounded) inputs: forward output and log-sum-exp, and dq, dk, dv and the per-head
// gate gradient, with and without the key gate, for head dims of every compiled width (8, 16, 64,
// 80 zero-padded to 128, 128), sequence lengths that are and are not multiples of the 64-wide
// tiles, cross attention, and non-contiguous q/k/v/gate/dout views. Outputs are poisoned. Then the
// op itself (autograd and bf16 autocast) on the GPU.
#include <cmath>

#include "cuda/cuda_testing.h"
#include "ops/cpu/attention.h"
#if WSOL_CUDA
#include "ops/cuda/attention.h"
#endif

namespace wsol {
namespace {

using namespace testing;

double relative_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = to(a, kCPU).to_vector<double>(), y = to(b, kCPU).to_vector<double>();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (x[i] - y[i]) * (x[i] - y[i]);
        den += y[i] * y[i];
    }
    return std::isnan(num) ? INFINITY : std::sqrt(num / std::max(den, 1e-300));
}

#if WSOL_CUDA

double max_abs_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = to(a, kCPU).to_vector<double>(), y = to(b, kCPU).to_vector<double>();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::isnan(x[i]) ? INFINITY : std::max(worst, std::fabs(x[i] - y[i]));
    return worst;
}

struct Case {
    int64_t B, H, Nq, Nk, D;
    bool gated;
    bool strided;  // q/k/v as head-split views of (B, N, H, D), gate and dout transposed
    const char* what;
};

// A (B, H, N, D) GPU tensor: contiguous, or a permuted view of a (B, N, H, D) one.
Tensor head_tensor(int64_t B, int64_t H, int64_t N, int64_t D, DType dtype, uint64_t seed, bool strided, double range) {
    if (!strided) return random_input({B, H, N, D}, dtype, seed, -range, range, kGPU);
    return permute(random_input({B, N, H, D}, dtype, seed, -range, range, kGPU), {0, 2, 1, 3});
}

void check_kernels(const Case& c, DType dtype, uint64_t seed) {
    SCOPED_TRACE(std::string(c.what) + " " + dtype_name(dtype));
    const double scale = 1.0 / std::sqrt(double(c.D));
    const double fwd_tol = dtype == kFloat32 ? 1e-5 : 1e-2, bwd_tol = dtype == kFloat32 ? 5e-5 : 3e-2;
    Tensor q = head_tensor(c.B, c.H, c.Nq, c.D, dtype, seed, c.strided, 2.0);
    Tensor k = head_tensor(c.B, c.H, c.Nk, c.D, dtype, seed + 1, c.strided, 2.0);
    Tensor v = head_tensor(c.B, c.H, c.Nk, c.D, dtype, seed + 2, c.strided, 1.0);
    Tensor gate;
    if (c.gated) {
        gate = c.strided ? transpose(random_input({c.Nk, c.B}, dtype, seed + 3, -0.5, 1.5, kGPU), 0, 1)
                         : random_input({c.B, c.Nk}, dtype, seed + 3, -0.5, 1.5, kGPU);
    }
    Tensor dout = c.strided ? permute(random_input({c.B, c.Nq, c.H, c.D}, dtype, seed + 4, -1, 1, kGPU), {0, 2, 1, 3})
                            : random_input({c.B, c.H, c.Nq, c.D}, dtype, seed + 4, -1, 1, kGPU);
    // The CPU reference, in float64 on the very values the GPU sees.
    auto f64 = [](const Tensor& t) { return t.defined() ? contiguous(on_cpu_as(t, kFloat64)) : t; };
    const Tensor q64 = f64(q), k64 = f64(k), v64 = f64(v), g64 = f64(gate), do64 = f64(dout);
    Tensor out64 = Tensor::empty({c.B, c.H, c.Nq, c.D}, kFloat64), lse64 = Tensor::empty({c.B, c.H, c.Nq}, kFloat64);
    cpu::attention_forward(out64, lse64, q64, k64, v64, g64, scale);
    Tensor dq64 = Tensor::empty(q64.shape(), kFloat64), dk64 = Tensor::empty(k64.shape(), kFloat64),
           dv64 = Tensor::empty(v64.shape(), kFloat64);
    Tensor dg64 = c.gated ? Tensor::empty({c.B, c.H, c.Nk}, kFloat64) : Tensor();
    cpu::attention_backward(dq64, dk64, dv64, dg64, do64, q64, k64, v64, g64, out64, lse64, scale);

    Tensor out = poisoned({c.B, c.H, c.Nq, c.D}, dtype), lse = poisoned({c.B, c.H, c.Nq}, kFloat32);
    cuda::attention_forward(out, lse, q, k, v, gate, scale);
    EXPECT_LT(relative_error(out, out64), fwd_tol) << "out";
    EXPECT_LT(max_abs_error(lse, lse64), dtype == kFloat32 ? 1e-5 : 1e-2) << "log-sum-exp";

    Tensor dq = poisoned(q.shape(), dtype), dk = poisoned(k.shape(), dtype), dv = poisoned(v.shape(), dtype);
    Tensor dg = c.gated ? poisoned({c.B, c.H, c.Nk}, kFloat32) : Tensor();
    cuda::attention_backward(dq, dk, dv, dg, dout, q, k, v, gate, out, lse, scale);
    EXPECT_LT(relative_error(dq, dq64), bwd_tol) << "dq";
    EXPECT_LT(relative_error(dk, dk64), bwd_tol) << "dk";
    EXPECT_LT(relative_error(dv, dv64), bwd_tol) << "dv";
    if (c.gated) {
        EXPECT_LT(relative_error(dg, dg64), bwd_tol) << "dgate per head";
    }
}

#endif

TEST(CudaAttention, KernelsMatchTheCpu) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    const Case cases[] = {
        {2, 3, 5, 5, 16, true, false, "tiny, gated"},
        {2, 2, 197, 197, 64, true, false, "ViT-S shape (N = 197: four tiles, the last one partial), gated"},
        {2, 2, 198, 198, 64, false, true, "N = 198, ungated, strided views"},
        {1, 3, 70, 130, 32, true, true, "cross attention Nq != Nk, strided"},
        {2, 1, 64, 128, 8, true, false, "exact tiles, head dim 8"},
        {1, 2, 33, 47, 80, true, false, "head dim 80 (padded to 128)"},
        {1, 1, 65, 65, 128, true, true, "head dim 128"},
    };
    uint64_t seed = 1;
    for (const Case& c : cases) {
        check_kernels(c, kFloat32, seed += 10);
        // bfloat16 has two implementations: tensor cores (the default) and CUDA cores.
        for (bool tensor_cores : {true, false}) {
            SCOPED_TRACE(tensor_cores ? "tensor-core kernels" : "CUDA-core kernels");
            cuda::set_attention_tensor_cores(tensor_cores);
            check_kernels(c, kBFloat16, seed += 10);
        }
        cuda::set_attention_tensor_cores(true);
    }
#endif
}

TEST(CudaAttention, KernelErrors) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Tensor q = random_input({1, 1, 4, 130}, kFloat32, 1, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::attention_forward(poisoned({1, 1, 4, 130}, kFloat32), poisoned({1, 1, 4}, kFloat32), q, q, q,
                                              Tensor(), 1.0),
                      "head dim 130 is above 128");
    Tensor d = random_input({1, 1, 4, 8}, kFloat64, 1, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::attention_forward(poisoned({1, 1, 4, 8}, kFloat64), poisoned({1, 1, 4}, kFloat32), d, d, d,
                                              Tensor(), 1.0),
                      "dtype float64 is not supported (float32, bfloat16 are)");
#endif
}

TEST(CudaAttention, OpWithAutogradAndAutocast) {
    WSOL_REQUIRE_GPU();
    const int64_t B = 2, H = 3, N = 37, D = 24;
    auto leaf = [](const Shape& shape, uint64_t seed, double low, double high) {
        return random_leaf(shape, seed, low, high, kFloat64);
    };
    Tensor q = leaf({B, N, H, D}, 1, -1, 1), k = leaf({B, N, H, D}, 2, -1, 1), v = leaf({B, N, H, D}, 3, -1, 1);
    Tensor gate = leaf({B, N}, 4, 0, 1);
    auto run = [&](const Tensor& qi, const Tensor& ki, const Tensor& vi, const Tensor& gi) {
        Tensor out = attention(permute(qi, {0, 2, 1, 3}), permute(ki, {0, 2, 1, 3}), permute(vi, {0, 2, 1, 3}), 0.2, gi);
        return sum(mul(out, out));
    };
    Tensor loss = run(q, k, v, gate);
    backward(loss);
    auto gpu_leaf = [](const Tensor& t, DType dtype) {
        Tensor g = to(to(t.detach(), dtype), kGPU);
        g.set_requires_grad(true);
        return g;
    };
    Tensor qg = gpu_leaf(q, kFloat32), kg = gpu_leaf(k, kFloat32), vg = gpu_leaf(v, kFloat32), gg = gpu_leaf(gate, kFloat32);
    Tensor loss_g = run(qg, kg, vg, gg);
    EXPECT_EQ(loss_g.dtype(), kFloat32);
    backward(loss_g);
    EXPECT_NEAR(loss_g.item<double>(), loss.item<double>(), 1e-4 * std::fabs(loss.item<double>()));
    EXPECT_LT(relative_error(qg.grad(), q.grad()), 5e-5);
    EXPECT_LT(relative_error(kg.grad(), k.grad()), 5e-5);
    EXPECT_LT(relative_error(vg.grad(), v.grad()), 5e-5);
    EXPECT_LT(relative_error(gg.grad(), gate.grad()), 5e-5);
    // Under bf16 autocast the op runs in bfloat16 and returns bfloat16; gradients come back float32.
    Tensor qa = gpu_leaf(q, kFloat32), ka = gpu_leaf(k, kFloat32), va = gpu_leaf(v, kFloat32), ga = gpu_leaf(gate, kFloat32);
    {
        AutocastGuard autocast;
        Tensor out = attention(permute(qa, {0, 2, 1, 3}), permute(ka, {0, 2, 1, 3}), permute(va, {0, 2, 1, 3}), 0.2, ga);
        EXPECT_EQ(out.dtype(), kBFloat16);
        backward(sum(mul(to(out, kFloat32), to(out, kFloat32))));
    }
    EXPECT_EQ(qa.grad().dtype(), kFloat32);
    EXPECT_LT(relative_error(qa.grad(), q.grad()), 5e-2);
    EXPECT_LT(relative_error(ga.grad(), gate.grad()), 5e-2);
}

}  // namespace
}  // namespace wsol
