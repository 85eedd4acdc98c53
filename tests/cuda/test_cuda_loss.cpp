// CUDA losses (ops/cuda/loss.h) against the CPU kernels: cross-entropy fused with its gradient on
// (N, C) logits (a warp per row; the 1000-class case) and on (N, C, S) maps (a thread per
// position), with label smoothing, ignore_index and class weights; NLL; the elementwise losses
// with broadcast weights and strided operands, both gradients; the range check of
// binary_cross_entropy. float32 / float64 / bfloat16, poisoned outputs. Then the ops through
// autograd with every reduction, and autocast (bf16 logits, float32 loss).
#include <cmath>

#include "cuda/op_testing.h"
#include "ops/cpu/loss.h"
#if WSOL_CUDA
#include "ops/cuda/loss.h"
#endif

namespace wsol {
namespace {

using namespace testing;

const DType kFloatTypes[] = {kFloat32, kFloat64, kBFloat16};

// Class indices in [0, classes) with every 5th set to ignore_index (-100).
Tensor targets(const Shape& shape, int64_t classes, uint64_t seed) {
    std::vector<int64_t> t = to(random_input(shape, kFloat64, seed, 0, double(classes)), kInt64).to_vector<int64_t>();
    for (size_t i = 0; i < t.size(); i += 5) t[i] = -100;
    return Tensor::from_vector(t, shape);
}

TEST(CudaLoss, CrossEntropyAndNllKernels) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    struct Case {
        Shape x;  // (N, C, S)
        const char* what;
    };
    for (const Case& c : {Case{{37, 1000, 1}, "ImageNet logits"}, Case{{16, 7, 1}, "few classes"},
                          Case{{3, 5, 12}, "per-pixel (N, C, S)"}}) {
        for (DType dtype : kFloatTypes) {
            for (double smoothing : {0.0, 0.1}) {
                for (bool weighted : {false, true}) {
                    SCOPED_TRACE(std::string(c.what) + " " + dtype_name(dtype) + " smoothing " + std::to_string(smoothing) +
                                 (weighted ? " weighted" : ""));
                    const int64_t N = c.x[0], C = c.x[1], S = c.x[2];
                    const DType cd = cpu_compute_dtype(dtype), sd = dtype == kBFloat16 ? kFloat32 : dtype;
                    Tensor x = random_input(c.x, dtype, seed++, -5, 5, kGPU);
                    Tensor t = to(targets({N, S}, C, seed++), kGPU);
                    Tensor w = weighted ? random_input({C}, dtype, seed++, 0.2, 2, kGPU) : Tensor();
                    Tensor loss = poisoned({N, S}, dtype), lse = poisoned({N, S}, sd);
                    cuda::cross_entropy(loss, lse, x, t, w, smoothing, -100);
                    Tensor rloss = Tensor::empty({N, S}, cd), rlse = Tensor::empty({N, S}, cd);
                    cpu::cross_entropy(rloss, rlse, on_cpu_as(x, cd), to(t, kCPU), on_cpu_as(w, cd), smoothing, -100);
                    EXPECT_TRUE(gpu_matches(loss, to(rloss, dtype), 4.0)) << "loss";
                    EXPECT_TRUE(gpu_matches(lse, to(rlse, sd), 2.0)) << "lse";

                    Tensor g = random_input({N, S}, dtype, seed++, -1, 1, kGPU);
                    Tensor gx = poisoned(c.x, dtype);
                    cuda::cross_entropy_backward(gx, g, x, lse, t, w, smoothing, -100);
                    Tensor rgx = Tensor::empty(c.x, cd);
                    cpu::cross_entropy_backward(rgx, on_cpu_as(g, cd), on_cpu_as(x, cd), to(lse, kCPU), to(t, kCPU),
                                                on_cpu_as(w, cd), smoothing, -100);
                    EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), 2.0)) << "grad";

                    if (smoothing == 0.0) {  // NLL on the same (now log-probability-like) values
                        Tensor nl = poisoned({N, S}, dtype);
                        cuda::nll_loss(nl, x, t, w, -100);
                        Tensor rnl = Tensor::empty({N, S}, cd);
                        cpu::nll_loss(rnl, on_cpu_as(x, cd), to(t, kCPU), on_cpu_as(w, cd), -100);
                        EXPECT_TRUE(gpu_matches(nl, to(rnl, dtype))) << "nll";
                        Tensor ngx = poisoned(c.x, dtype);
                        cuda::nll_loss_backward(ngx, g, t, w, -100);
                        Tensor rngx = Tensor::empty(c.x, cd);
                        cpu::nll_loss_backward(rngx, on_cpu_as(g, cd), to(t, kCPU), on_cpu_as(w, cd), -100);
                        EXPECT_TRUE(gpu_matches(ngx, to(rngx, dtype))) << "nll grad";
                    }
                }
            }
        }
    }
#endif
}

TEST(CudaLoss, PointwiseKernels) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 200;
    const PointwiseLoss kinds[] = {PointwiseLoss::BinaryCrossEntropy, PointwiseLoss::BinaryCrossEntropyWithLogits,
                                   PointwiseLoss::SquaredError, PointwiseLoss::AbsoluteError};
    for (PointwiseLoss kind : kinds) {
        for (DType dtype : kFloatTypes) {
            SCOPED_TRACE(std::to_string(int(kind)) + " " + dtype_name(dtype));
            const DType cd = cpu_compute_dtype(dtype);
            const bool probs = kind == PointwiseLoss::BinaryCrossEntropy;
            // input strided (a transpose), target contiguous, weight (C) and pos_weight (C) broadcast.
            Tensor x = transpose(random_input({12, 9}, dtype, seed++, probs ? 0.01 : -3, probs ? 0.99 : 3, kGPU), 0, 1);
            Tensor t = random_input({9, 12}, dtype, seed++, 0, 1, kGPU);
            Tensor w = random_input({12}, dtype, seed++, 0.5, 2, kGPU);
            Tensor pw = kind == PointwiseLoss::BinaryCrossEntropyWithLogits ? random_input({12}, dtype, seed++, 0.5, 3, kGPU)
                                                                            : Tensor();
            Tensor out = poisoned({9, 12}, dtype);
            cuda::pointwise_loss(kind, out, x, t, w, pw);
            Tensor ref = Tensor::empty({9, 12}, cd);
            cpu::pointwise_loss(kind, ref, on_cpu_as(x, cd), on_cpu_as(t, cd), on_cpu_as(w, cd), on_cpu_as(pw, cd));
            EXPECT_TRUE(gpu_matches(out, to(ref, dtype), 2.0)) << "forward";
            // The output gradient of a mean: one value broadcast with stride 0.
            Tensor g = expand(random_input({1, 1}, dtype, seed++, 0.5, 1, kGPU), {9, 12});
            for (bool wrt_target : {false, true}) {
                Tensor grad = poisoned({9, 12}, dtype);
                cuda::pointwise_loss_backward(kind, wrt_target, grad, g, x, t, w, pw);
                Tensor rgrad = Tensor::empty({9, 12}, cd);
                cpu::pointwise_loss_backward(kind, wrt_target, rgrad, on_cpu_as(g, cd), on_cpu_as(x, cd), on_cpu_as(t, cd),
                                             on_cpu_as(w, cd), on_cpu_as(pw, cd));
                EXPECT_TRUE(gpu_matches(grad, to(rgrad, dtype), 2.0)) << (wrt_target ? "grad target" : "grad input");
            }
        }
    }
#endif
}

TEST(CudaLoss, OpsThroughAutogradAndErrors) {
    WSOL_REQUIRE_GPU();
    Tensor logits = random_input({6, 10, 4}, kFloat64, 300, -4, 4);
    Tensor labels = targets({6, 4}, 10, 301);
    Tensor weight = random_input({10}, kFloat64, 302, 0.5, 2);
    for (DType dtype : kFloatTypes) {
        for (Reduction r : {Reduction::None, Reduction::Sum, Reduction::Mean}) {
            expect_op_matches(std::string("cross_entropy ") + reduction_name(r), [r](const TensorList& in) {
                return cross_entropy(in[0], in[1], r, 0.1, -100, in[2].detach());
            }, {logits, labels, weight}, dtype, 4.0);
        }
        Tensor p = random_input({5, 7}, kFloat64, 303, 0.02, 0.98), q = random_input({5, 7}, kFloat64, 304, 0, 1);
        expect_op_matches("binary_cross_entropy", [](const TensorList& in) {
            return binary_cross_entropy(in[0], in[1]);
        }, {p, q}, dtype, 4.0);
        expect_op_matches("bce with logits, pos_weight", [](const TensorList& in) {
            return binary_cross_entropy_with_logits(in[0], in[1], Tensor(), in[2].detach(), Reduction::Sum);
        }, {mul(sub(p, 0.5), 8.0), q, random_input({7}, kFloat64, 305, 0.5, 3)}, dtype, 4.0);
        expect_op_matches("mse_loss", [](const TensorList& in) { return mse_loss(in[0], in[1]); }, {p, q}, dtype, 4.0);
        expect_op_matches("l1_loss", [](const TensorList& in) { return l1_loss(in[0], in[1]); }, {p, q}, dtype, 4.0);
    }
    // Probabilities outside [0, 1] are an error on the GPU as on the CPU.
    Tensor bad = to(Tensor::from_vector<float>({0.5f, 1.5f}, {2}), kGPU);
    EXPECT_WSOL_ERROR(binary_cross_entropy(bad, zeros_like(bad)), "probabilities in [0, 1]");
    // An unsupported dtype names the op and the dtype.
#if WSOL_CUDA
    Tensor ints = Tensor::zeros({2, 3}, kInt32, kGPU);
    EXPECT_WSOL_ERROR(cuda::pointwise_loss(PointwiseLoss::SquaredError, ints, ints, ints, Tensor(), Tensor()),
                      "loss on CUDA: dtype int32");
#endif
}

TEST(CudaLoss, AutocastLossesAreFloat32) {
    WSOL_REQUIRE_GPU();
    Tensor logits = random_input({4, 10}, kBFloat16, 400, -3, 3, kGPU).detach();
    logits.set_requires_grad(true);
    Tensor labels = to(Tensor::from_vector<int64_t>({1, 2, 3, 9}, {4}), kGPU);
    Tensor loss;
    {
        AutocastGuard autocast;
        loss = cross_entropy(logits, labels);
    }
    EXPECT_EQ(loss.dtype(), kFloat32);
    const Tensor ref = cross_entropy(on_cpu_as(logits, kFloat32), to(labels, kCPU));
    EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-5);
    backward(loss);
    EXPECT_EQ(logits.grad().dtype(), kBFloat16);
}

}  // namespace
}  // namespace wsol
