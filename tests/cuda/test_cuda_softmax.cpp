// CUDA softmax / log_softmax (ops/cuda/softmax.h) against the CPU kernels: every layout the GPU
// distinguishes (short rows: a warp each; long rows: a block each; inner axes: a thread per
// line), forward and backward, float32 / float64 / bfloat16, fresh random inputs, NaN-poisoned
// outputs; then the op through autograd on strided inputs, the -inf and NaN conventions, and
// autocast (bf16 in, float32 out).
#include <cmath>

#include "cuda/op_testing.h"
#include "ops/cpu/softmax.h"
#if WSOL_CUDA
#include "ops/cuda/softmax.h"
#endif

namespace wsol {
namespace {

using namespace testing;

const DType kFloatTypes[] = {kFloat32, kFloat64, kBFloat16};

TEST(CudaSoftmax, KernelsMatchTheCpuInEveryLayout) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    struct Case {
        Shape shape;
        int64_t axis;
        const char* what;
    };
    const Case cases[] = {
        {{37, 10}, 1, "short rows (a warp each)"},     {{64, 1000}, 1, "ImageNet logits (a warp each)"},
        {{5, 3000}, 1, "long rows (a block each)"},    {{4, 7, 5, 6}, 1, "channels of (N, C, H, W): lines"},
        {{3, 1}, 1, "one element per row"},            {{6, 198, 198}, 2, "attention rows"},
        {{9, 4}, 0, "the outer axis (lines, stride 4)"},
    };
    uint64_t seed = 1;
    for (const Case& c : cases) {
        for (DType dtype : kFloatTypes) {
            for (bool log : {false, true}) {
                SCOPED_TRACE(std::string(c.what) + (log ? ", log_softmax, " : ", softmax, ") + dtype_name(dtype));
                const DType cd = cpu_compute_dtype(dtype);
                Tensor x = random_input(c.shape, dtype, seed++, -4, 4, kGPU);
                Tensor y = poisoned(c.shape, dtype);
                cuda::softmax(y, x, c.axis, log);
                Tensor ref = Tensor::empty(c.shape, cd);
                cpu::softmax(ref, on_cpu_as(x, cd), c.axis, log);
                EXPECT_TRUE(gpu_matches(y, to(ref, dtype))) << "forward";

                // Backward from the (rounded) forward output on both devices.
                Tensor gy = random_input(c.shape, dtype, seed++, -1, 1, kGPU);
                Tensor gx = poisoned(c.shape, dtype);
                cuda::softmax_backward(gx, gy, y, c.axis, log);
                Tensor gref = Tensor::empty(c.shape, cd);
                cpu::softmax_backward(gref, on_cpu_as(gy, cd), on_cpu_as(y, cd), c.axis, log);
                // The row sum of g * y enters every element: allow for its length.
                const double slack = std::sqrt(double(c.shape[size_t(c.axis)])) / 4 + 1;
                EXPECT_TRUE(gpu_matches(gx, to(gref, dtype), slack)) << "backward";
            }
        }
    }
#endif
}

TEST(CudaSoftmax, InfinityAndNaNFollowTheCpu) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    // A row of -inf gives NaN (as PyTorch); a NaN spreads over its row; +inf dominates.
    const float inf = INFINITY;
    Tensor x = Tensor::from_vector<float>({-inf, -inf, -inf, 1, NAN, 2, 0, inf, 1, 3, -inf, 0}, {4, 3});
    for (bool log : {false, true}) {
        Tensor y = poisoned({4, 3}, kFloat32);
        cuda::softmax(y, to(x, kGPU), 1, log);
        Tensor ref = Tensor::empty({4, 3});
        cpu::softmax(ref, x, 1, log);
        EXPECT_TRUE(gpu_matches(y, ref));
    }
#endif
}

TEST(CudaSoftmax, OpsAndGradientsOnStridedInputs) {
    WSOL_REQUIRE_GPU();
    Tensor base = random_input({6, 33, 40}, kFloat64, 5, -3, 3);
    for (DType dtype : kFloatTypes) {
        expect_op_matches("softmax over a transposed view", [](const TensorList& in) {
            return softmax(transpose(in[0], 1, 2), -1);
        }, {base}, dtype, 2.0);
        expect_op_matches("log_softmax over the middle axis", [](const TensorList& in) {
            return log_softmax(in[0], 1);
        }, {base}, dtype, 2.0);
    }
}

TEST(CudaSoftmax, AutocastComputesInFloat32) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({8, 100}, kBFloat16, 9, -3, 3, kGPU).detach();
    x.set_requires_grad(true);
    Tensor y;
    {
        AutocastGuard autocast;
        y = softmax(x, -1);
    }
    EXPECT_EQ(y.dtype(), kFloat32);
    Tensor ref = Tensor::empty({8, 100});
    cpu::softmax(ref, on_cpu_as(x, kFloat32), 1, false);
    EXPECT_TRUE(all_close(to(y, kCPU), ref, 1e-5, 1e-6));
    backward(sum(mul(y, y)));
    EXPECT_EQ(x.grad().dtype(), kBFloat16);
}

}  // namespace
}  // namespace wsol
