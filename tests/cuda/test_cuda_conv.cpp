// conv2d on the GPU (ops/cuda/conv.h through cuDNN) against the CPU's im2col + GEMM: the ViT patch
// embedding (16x16 stride 16), SAT's 3x3 head with padding, groups, dilation and strides, with and
// without bias, forward and every gradient through autograd; float32, float64 and bfloat16. Also
// the bias kernels directly (poisoned outputs) and autocast.
#include "cuda/op_testing.h"
#include "ops/cpu/conv.h"
#if WSOL_CUDA
#include "ops/cuda/conv.h"
#endif

namespace wsol {
namespace {

using namespace testing;

TEST(CudaConv, Conv2dForwardAndGradients) {
    WSOL_REQUIRE_GPU();
    struct Case {
        Shape x, w;
        Size2 stride, padding, dilation;
        int64_t groups;
        const char* what;
    };
    const Case cases[] = {
        {{2, 3, 32, 32}, {8, 3, 16, 16}, {16, 16}, {0, 0}, {1, 1}, 1, "patch embedding"},
        {{2, 16, 7, 7}, {5, 16, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, "3x3 head, padding 1"},
        {{1, 6, 9, 11}, {4, 3, 3, 2}, {2, 1}, {1, 0}, {1, 2}, 2, "groups, strides, dilation"},
        {{3, 4, 5, 5}, {4, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 4, "depthwise"},
    };
    uint64_t seed = 1;
    for (const Case& c : cases) {
        Tensor x = random_input(c.x, kFloat64, seed++, -1, 1), w = random_input(c.w, kFloat64, seed++, -0.5, 0.5);
        Tensor b = random_input({c.w[0]}, kFloat64, seed++, -1, 1);
        for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
            for (bool with_bias : {true, false}) {
                const double slack = dtype == kBFloat16 ? 8.0 : 16.0;  // sums over C kh kw and N Ho Wo terms
                expect_op_matches(std::string(c.what) + (with_bias ? " + bias" : ""), [&](const TensorList& in) {
                    return conv2d(in[0], in[1], with_bias ? in[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
                }, {x, w, b}, dtype, slack);
            }
        }
    }
}

TEST(CudaConv, BiasKernelsWriteEveryElement) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Conv2dGeometry g{2, 3, 6, 6, 4, 3, 3, 4, 4, 1, 1, 0, 0, 1, 1, 1};
    Tensor x = random_input({2, 3, 6, 6}, kFloat32, 50, -1, 1, kGPU), w = random_input({4, 3, 3, 3}, kFloat32, 51, -1, 1, kGPU);
    Tensor b = random_input({4}, kFloat32, 52, -1, 1, kGPU);
    Tensor y = poisoned({2, 4, 4, 4}, kFloat32);
    cuda::conv2d(y, x, w, b, g);
    Tensor ref = Tensor::empty({2, 4, 4, 4});
    cpu::conv2d(ref, to(x, kCPU), to(w, kCPU), to(b, kCPU), g);
    EXPECT_TRUE(gpu_matches(y, ref, 4.0));
    Tensor gy = random_input({2, 4, 4, 4}, kFloat32, 53, -1, 1, kGPU);
    Tensor gb = poisoned({4}, kFloat32);
    cuda::conv2d_grad_bias(gb, gy, g);
    Tensor rgb = Tensor::empty({4});
    cpu::conv2d_grad_bias(rgb, to(gy, kCPU), g);
    EXPECT_TRUE(gpu_matches(gb, rgb, 8.0));
#endif
}

TEST(CudaConv, AutocastConvolvesInBf16) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({2, 3, 32, 32}, kFloat32, 60, -1, 1, kGPU);
    Tensor w = random_input({16, 3, 8, 8}, kFloat32, 61, -0.2, 0.2, kGPU).detach();
    w.set_requires_grad(true);
    Tensor y;
    {
        AutocastGuard autocast;
        y = conv2d(x, w, Tensor(), {8, 8});
    }
    EXPECT_EQ(y.dtype(), kBFloat16);
    EXPECT_LT(relative_error(y, conv2d(to(x, kCPU), to(w.detach(), kCPU), Tensor(), {8, 8})), 1e-2);
    backward(sum(to(y, kFloat32)));
    EXPECT_EQ(w.grad().dtype(), kFloat32);
}

}  // namespace
}  // namespace wsol
