// CUDA dropout and drop-path: the same seed gives the same mask on both devices (the Philox
// stream of ops/random.h), so float32 / float64 outputs and gradients are bit-identical to the
// CPU's; bfloat16 keeps and drops the same elements. The kernel itself on strided inputs and a
// broadcast (per-sample) mask, with poisoned outputs.
#include "cuda/op_testing.h"
#include "ops/cpu/dropout.h"
#if WSOL_CUDA
#include "ops/cuda/dropout.h"
#endif

namespace wsol {
namespace {

using namespace testing;

TEST(CudaDropout, KernelOnStridedInputsAndBroadcastMasks) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
        SCOPED_TRACE(dtype_name(dtype));
        const DType cd = cpu_compute_dtype(dtype);
        Tensor x = transpose(random_input({40, 30}, dtype, seed++, -2, 2, kGPU), 0, 1);  // (30, 40), strided
        Generator gen(seed++);
        for (const Shape& mask_shape : {Shape{30, 40}, Shape{30, 1}}) {
            Tensor mask = rand_bernoulli(mask_shape, gen, 0.7, kUInt8, kGPU);
            Tensor out = poisoned({30, 40}, dtype);
            cuda::masked_scale(out, x, mask, 1.0 / 0.7);
            Tensor ref = Tensor::empty({30, 40}, cd);
            cpu::masked_scale(ref, on_cpu_as(x, cd), to(mask, kCPU), 1.0 / 0.7);
            EXPECT_TRUE(gpu_matches(out, to(ref, dtype), dtype == kBFloat16 ? 1.0 : 0.0));
        }
    }
#endif
}

TEST(CudaDropout, SameSeedSameMaskOnBothDevices) {
    WSOL_REQUIRE_GPU();
    for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
        SCOPED_TRACE(dtype_name(dtype));
        Tensor x = random_input({8, 197, 64}, kFloat64, 3, -1, 1);
        Leaves l = make_leaves({x}, dtype);
        for (bool per_sample : {false, true}) {
            Generator gen_c(42), gen_g(42);
            Tensor yc = per_sample ? drop_path(l.cpu[0], 0.3, true, gen_c) : dropout(l.cpu[0], 0.3, true, gen_c);
            Tensor yg = per_sample ? drop_path(l.gpu[0], 0.3, true, gen_g) : dropout(l.gpu[0], 0.3, true, gen_g);
            EXPECT_EQ(gen_c.offset(), gen_g.offset());
            // The same elements are dropped.
            EXPECT_TRUE(gpu_matches(eq(yg, zeros_like(yg)), eq(yc, zeros_like(yc))));
            if (dtype == kBFloat16) {
                EXPECT_TRUE(gpu_matches(yg, to(yc, dtype)));
            } else {
                EXPECT_TRUE(same_bits(yg, yc));  // the same products in the same order
            }
            Tensor g = random_input(x.shape(), kFloat64, 4, -1, 1);
            l.cpu[0].set_grad(Tensor());
            l.gpu[0].set_grad(Tensor());
            backward(yc, to(g, yc.dtype()));
            backward(yg, gpu_of(g, yg.dtype()));
            if (dtype != kBFloat16) {
                EXPECT_TRUE(same_bits(l.gpu[0].grad(), l.cpu[0].grad()));
            }
        }
    }
}

}  // namespace
}  // namespace wsol
