// The fused AdamW update on the GPU (ops/cuda/optim.h) against the CPU kernel over several steps
// (the moments carry the error forward), float32 and float64, and the error for bfloat16.
#include "cuda/op_testing.h"
#include "ops/optim.h"

namespace wsol {
namespace {

using namespace testing;

TEST(CudaOptim, AdamWMatchesTheCpuOverSteps) {
    WSOL_REQUIRE_GPU();
    for (DType dtype : {kFloat32, kFloat64}) {
        SCOPED_TRACE(dtype_name(dtype));
        const Shape shape{1000, 37};
        Tensor pc = random_input(shape, dtype, 1, -1, 1), mc = Tensor::zeros(shape, dtype), vc = Tensor::zeros(shape, dtype);
        Tensor pg = to(pc, kGPU), mg = to(mc, kGPU), vg = to(vc, kGPU);
        AdamWHyper h;
        h.lr = 1e-2;
        h.weight_decay = 0.05;
        for (int64_t step = 1; step <= 5; ++step) {
            h.step = step;
            Tensor g = random_input(shape, dtype, 10 + uint64_t(step), -1, 1);
            adamw_update_(pc, g, mc, vc, h);
            adamw_update_(pg, to(g, kGPU), mg, vg, h);
        }
        const double rtol = dtype == kFloat64 ? 1e-12 : 1e-5;
        EXPECT_TRUE(all_close(to(pg, kCPU), pc, rtol, rtol));
        EXPECT_TRUE(all_close(to(mg, kCPU), mc, rtol, rtol));
        EXPECT_TRUE(all_close(to(vg, kCPU), vc, rtol, rtol));
    }
    Tensor b = Tensor::zeros({4}, kBFloat16, kGPU);
    EXPECT_WSOL_ERROR(adamw_update_(b, b, b, b, AdamWHyper{}), "adamw_update_ on CUDA: dtype bfloat16");
}

}  // namespace
}  // namespace wsol
