// CUDA LayerNorm and BatchNorm (ops/cuda/norm.h) against the CPU kernels: rows short (a warp
// each) and long (a block each), with and without weight and bias, forward, input gradient and
// the deterministic weight/bias gradients (bitwise equal from run to run); batch statistics over
// several chunks, apply, backward in training and eval; float32 / float64 / bfloat16 with the
// statistics in float32 for bfloat16. Then the ops through autograd, including the running
// statistics update of batch_norm, and autocast.
#include <cmath>

#include "cuda/op_testing.h"
#include "ops/cpu/norm.h"
#if WSOL_CUDA
#include "ops/cuda/norm.h"
#endif

namespace wsol {
namespace {

using namespace testing;

const DType kFloatTypes[] = {kFloat32, kFloat64, kBFloat16};

#if WSOL_CUDA
DType stats_of(DType dtype) { return dtype == kBFloat16 ? kFloat32 : dtype; }
#endif

TEST(CudaNorm, LayerNormKernels) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    for (const Shape& shape : {Shape{50, 384}, Shape{7, 2000}, Shape{3, 1}, Shape{1000, 32}}) {
        for (DType dtype : kFloatTypes) {
            for (bool affine : {true, false}) {
                SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype) + (affine ? " affine" : ""));
                const int64_t M = shape[0], N = shape[1];
                const DType cd = cpu_compute_dtype(dtype), sd = stats_of(dtype);
                // A common offset, as in real activations (the mean is computed around x[0]).
                Tensor x = random_input(shape, dtype, seed++, 2, 6, kGPU);
                Tensor w = affine ? random_input({N}, dtype, seed++, 0.5, 1.5, kGPU) : Tensor();
                Tensor b = affine ? random_input({N}, dtype, seed++, -1, 1, kGPU) : Tensor();
                Tensor y = poisoned(shape, dtype), mean = poisoned({M}, sd), rstd = poisoned({M}, sd);
                cuda::layer_norm(y, mean, rstd, x, w, b, 1e-5);
                Tensor ry = Tensor::empty(shape, cd), rmean = Tensor::empty({M}, cd), rrstd = Tensor::empty({M}, cd);
                cpu::layer_norm(ry, rmean, rrstd, on_cpu_as(x, cd), on_cpu_as(w, cd), on_cpu_as(b, cd), 1e-5);
                EXPECT_TRUE(gpu_matches(y, to(ry, dtype), 2.0)) << "y";
                EXPECT_TRUE(gpu_matches(mean, to(rmean, sd))) << "mean";
                EXPECT_TRUE(gpu_matches(rstd, to(rrstd, sd), 2.0)) << "rstd";

                Tensor gy = random_input(shape, dtype, seed++, -1, 1, kGPU);
                Tensor gx = poisoned(shape, dtype);
                Tensor gw = affine ? poisoned({N}, dtype) : Tensor(), gb = affine ? poisoned({N}, dtype) : Tensor();
                cuda::layer_norm_backward(gx, gw, gb, gy, x, mean, rstd, w);
                Tensor rgx = Tensor::empty(shape, cd);
                Tensor rgw = affine ? Tensor::empty({N}, cd) : Tensor(), rgb = affine ? Tensor::empty({N}, cd) : Tensor();
                cpu::layer_norm_backward(rgx, rgw, rgb, on_cpu_as(gy, cd), on_cpu_as(x, cd), to(mean, kCPU),
                                         to(rstd, kCPU), on_cpu_as(w, cd));
                EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), std::sqrt(double(N)) / 4 + 1)) << "grad x";
                if (affine) {
                    // Column sums over M rows accumulate in float32 on the GPU (double on the CPU).
                    const double slack = std::sqrt(double(M));
                    EXPECT_TRUE(gpu_matches(gw, to(rgw, dtype), slack)) << "grad weight";
                    EXPECT_TRUE(gpu_matches(gb, to(rgb, dtype), slack)) << "grad bias";
                    // Deterministic: a second run gives the same bits.
                    Tensor gw2 = poisoned({N}, dtype), gb2 = poisoned({N}, dtype);
                    cuda::layer_norm_backward(Tensor(), gw2, gb2, gy, x, mean, rstd, w);
                    EXPECT_TRUE(same_bits(gw2, gw));
                    EXPECT_TRUE(same_bits(gb2, gb));
                }
            }
        }
    }
#endif
}

// The residual add fused into the LayerNorm kernel: the same bits as the add kernel followed by the
// LayerNorm kernel (sum, y, mean and rstd), for warp rows, block rows and a one-feature row.
TEST(CudaNorm, AddLayerNormKernel) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 300;
    for (const Shape& shape : {Shape{50, 384}, Shape{7, 2000}, Shape{3, 1}}) {
        for (DType dtype : kFloatTypes) {
            SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
            const int64_t M = shape[0], N = shape[1];
            const DType sd = stats_of(dtype);
            Tensor x = random_input(shape, dtype, seed++, 2, 6, kGPU);
            Tensor r = random_input(shape, dtype, seed++, -1, 1, kGPU);
            Tensor w = random_input({N}, dtype, seed++, 0.5, 1.5, kGPU), b = random_input({N}, dtype, seed++, -1, 1, kGPU);
            Tensor h = poisoned(shape, dtype), y = poisoned(shape, dtype), mean = poisoned({M}, sd), rstd = poisoned({M}, sd);
            cuda::add_layer_norm(h, y, mean, rstd, x, r, w, b, 1e-5);
            const Tensor h_ref = add(x, r);
            Tensor y_ref = poisoned(shape, dtype), mean_ref = poisoned({M}, sd), rstd_ref = poisoned({M}, sd);
            cuda::layer_norm(y_ref, mean_ref, rstd_ref, h_ref, w, b, 1e-5);
            EXPECT_TRUE(same_bits(h, h_ref)) << "sum";
            EXPECT_TRUE(same_bits(y, y_ref)) << "y";
            EXPECT_TRUE(same_bits(mean, mean_ref)) << "mean";
            EXPECT_TRUE(same_bits(rstd, rstd_ref)) << "rstd";
        }
    }
#endif
}

TEST(CudaNorm, BatchNormKernels) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    // (B, C, S): small, (N, C) with S = 1, and one channel reduction split over several chunks.
    for (const Shape& shape : {Shape{4, 3, 30}, Shape{16, 8, 1}, Shape{8, 3, 6400}}) {
        for (DType dtype : kFloatTypes) {
            SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
            const int64_t C = shape[1];
            const DType cd = cpu_compute_dtype(dtype), sd = stats_of(dtype);
            Tensor x = random_input(shape, dtype, seed++, 1, 3, kGPU);
            Tensor mean = poisoned({C}, sd), var = poisoned({C}, sd);
            cuda::batch_norm_stats(mean, var, x);
            Tensor rmean = Tensor::empty({C}, cd), rvar = Tensor::empty({C}, cd);
            cpu::batch_norm_stats(rmean, rvar, on_cpu_as(x, cd));
            EXPECT_TRUE(gpu_matches(mean, to(rmean, sd))) << "mean";
            EXPECT_TRUE(gpu_matches(var, to(rvar, sd), 4.0)) << "var";

            Tensor rstd = to(rsqrt(add(to(var, kCPU), 1e-5)), kGPU);
            Tensor w = random_input({C}, dtype, seed++, 0.5, 1.5, kGPU), b = random_input({C}, dtype, seed++, -1, 1, kGPU);
            Tensor y = poisoned(shape, dtype);
            cuda::batch_norm_apply(y, x, mean, rstd, w, b);
            Tensor ry = Tensor::empty(shape, cd);
            cpu::batch_norm_apply(ry, on_cpu_as(x, cd), to(mean, kCPU), to(rstd, kCPU), on_cpu_as(w, cd), on_cpu_as(b, cd));
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype))) << "apply";

            for (bool training : {true, false}) {
                SCOPED_TRACE(training ? "training" : "eval");
                Tensor gy = random_input(shape, dtype, seed++, -1, 1, kGPU);
                Tensor gx = poisoned(shape, dtype), gw = poisoned({C}, dtype), gb = poisoned({C}, dtype);
                cuda::batch_norm_backward(gx, gw, gb, gy, x, mean, rstd, w, training);
                Tensor rgx = Tensor::empty(shape, cd), rgw = Tensor::empty({C}, cd), rgb = Tensor::empty({C}, cd);
                cpu::batch_norm_backward(rgx, rgw, rgb, on_cpu_as(gy, cd), on_cpu_as(x, cd), to(mean, kCPU),
                                         to(rstd, kCPU), on_cpu_as(w, cd), training);
                const double count = double(shape[0] * shape[2]);
                EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), 4.0)) << "grad x";
                EXPECT_TRUE(gpu_matches(gw, to(rgw, dtype), std::sqrt(count))) << "grad weight";
                EXPECT_TRUE(gpu_matches(gb, to(rgb, dtype), std::sqrt(count))) << "grad bias";
            }
        }
    }
#endif
}

TEST(CudaNorm, OpsThroughAutograd) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({4, 9, 48}, kFloat64, 7, -2, 2);
    Tensor w = random_input({48}, kFloat64, 8, 0.5, 1.5), b = random_input({48}, kFloat64, 9, -1, 1);
    for (DType dtype : kFloatTypes) {
        expect_op_matches("layer_norm on a transposed input", [](const TensorList& in) {
            return layer_norm(transpose(transpose(in[0], 0, 1), 0, 1), {48}, in[1], in[2], 1e-6);
        }, {x, w, b}, dtype, 4.0);
    }
    // add_layer_norm with a gradient through both outputs (the sum and its normalisation).
    Tensor res = random_input({4, 9, 48}, kFloat64, 13, -2, 2);
    for (DType dtype : kFloatTypes) {
        expect_op_matches("add_layer_norm", [](const TensorList& in) {
            const AddLayerNorm o = add_layer_norm(in[0], in[1], {48}, in[2], in[3], 1e-6);
            return add(o.normed, mul(o.sum, 0.5));
        }, {x, res, w, b}, dtype, 4.0);
    }
    Tensor images = random_input({6, 5, 7, 7}, kFloat64, 10, -1, 3);
    Tensor gamma = random_input({5}, kFloat64, 11, 0.5, 1.5), beta = random_input({5}, kFloat64, 12, -1, 1);
    for (DType dtype : {kFloat32, kFloat64}) {
        expect_op_matches("batch_norm, training", [](const TensorList& in) {
            return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true);
        }, {images, gamma, beta}, dtype, 4.0);
    }
    // The running statistics are updated on the GPU as on the CPU.
    Tensor rm_c = Tensor::zeros({5}), rv_c = ones({5});
    Tensor rm_g = to(rm_c, kGPU), rv_g = to(rv_c, kGPU);
    const Tensor xi = to(images, kFloat32);
    batch_norm(xi, rm_c, rv_c, to(gamma, kFloat32), to(beta, kFloat32), true, 0.1, 1e-5);
    batch_norm(to(xi, kGPU), rm_g, rv_g, gpu_of(gamma, kFloat32), gpu_of(beta, kFloat32), true, 0.1, 1e-5);
    EXPECT_TRUE(all_close(to(rm_g, kCPU), rm_c, 1e-5, 1e-6));
    EXPECT_TRUE(all_close(to(rv_g, kCPU), rv_c, 1e-5, 1e-6));
    // Eval mode uses them.
    Tensor ye_c = batch_norm(xi, rm_c, rv_c, to(gamma, kFloat32), to(beta, kFloat32), false);
    Tensor ye_g = batch_norm(to(xi, kGPU), rm_g, rv_g, gpu_of(gamma, kFloat32), gpu_of(beta, kFloat32), false);
    EXPECT_TRUE(all_close(to(ye_g, kCPU), ye_c, 1e-5, 1e-5));
}

TEST(CudaNorm, AutocastNormalisesInFloat32) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({10, 64}, kBFloat16, 20, -2, 2, kGPU).detach();
    x.set_requires_grad(true);
    Tensor w = ones({64}, kFloat32, kGPU).set_requires_grad(true);
    Tensor y;
    {
        AutocastGuard autocast;
        y = layer_norm(x, {64}, w, Tensor());
    }
    EXPECT_EQ(y.dtype(), kFloat32);
    backward(sum(y));
    EXPECT_EQ(x.grad().dtype(), kBFloat16);
    EXPECT_EQ(w.grad().dtype(), kFloat32);
}

}  // namespace
}  // namespace wsol
