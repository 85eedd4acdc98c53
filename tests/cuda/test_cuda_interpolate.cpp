// CUDA interpolation (ops/cuda/interpolate.h) against the CPU kernels: nearest, bilinear and
// bicubic, align_corners both ways, upsampling (the 14x14 map to 224), downsampling and equal
// sizes; forward and the gather-form backward, float32 / float64 / bfloat16, poisoned outputs;
// and the op through autograd.
#include "cuda/op_testing.h"
#include "ops/cpu/interpolate.h"
#if WSOL_CUDA
#include "ops/cuda/interpolate.h"
#endif

namespace wsol {
namespace {

using namespace testing;

TEST(CudaInterpolate, EveryModeForwardAndBackward) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    struct Size {
        Shape in;
        Size2 out;
    };
    const Size sizes[] = {{{2, 3, 14, 14}, {224, 224}}, {{1, 2, 17, 9}, {5, 4}}, {{1, 1, 8, 8}, {8, 8}},
                          {{2, 1, 1, 3}, {4, 7}}};
    uint64_t seed = 1;
    for (const Size& s : sizes) {
        for (InterpMode mode : {InterpMode::Nearest, InterpMode::Bilinear, InterpMode::Bicubic}) {
            for (bool align : {false, true}) {
                if (align && mode == InterpMode::Nearest) continue;
                for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
                    SCOPED_TRACE(shape_str(s.in) + " -> (" + std::to_string(s.out[0]) + "," + std::to_string(s.out[1]) +
                                 ") " + interp_mode_name(mode) + (align ? " align_corners " : " ") + dtype_name(dtype));
                    const DType cd = cpu_compute_dtype(dtype);
                    const Shape out_shape{s.in[0], s.in[1], s.out[0], s.out[1]};
                    Tensor x = random_input(s.in, dtype, seed++, -1, 1, kGPU);
                    Tensor y = poisoned(out_shape, dtype);
                    cuda::interpolate(y, x, mode, align);
                    Tensor ry = Tensor::empty(out_shape, cd);
                    cpu::interpolate(ry, on_cpu_as(x, cd), mode, align);
                    EXPECT_TRUE(gpu_matches(y, to(ry, dtype), 2.0)) << "forward";
                    Tensor gy = random_input(out_shape, dtype, seed++, -1, 1, kGPU);
                    Tensor gx = poisoned(s.in, dtype);
                    cuda::interpolate_grad(gx, gy, mode, align);
                    Tensor rgx = Tensor::empty(s.in, cd);
                    cpu::interpolate_grad(rgx, on_cpu_as(gy, cd), mode, align);
                    // An input pixel of the 16x upsampling gathers ~16^2 terms.
                    const double terms = double(s.out[0] * s.out[1]) / double(s.in[2] * s.in[3]);
                    EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), 2.0 + std::sqrt(terms))) << "backward";
                }
            }
        }
    }
#endif
}

TEST(CudaInterpolate, OpThroughAutograd) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({2, 2, 7, 7}, kFloat64, 50, -1, 1);
    for (InterpMode mode : {InterpMode::Nearest, InterpMode::Bilinear, InterpMode::Bicubic}) {
        expect_op_matches(std::string("interpolate ") + interp_mode_name(mode), [mode](const TensorList& in) {
            return interpolate(permute(permute(in[0], {0, 1, 3, 2}), {0, 1, 3, 2}), {20, 13}, mode, false);
        }, {x}, kFloat32, 2.0);
    }
}

}  // namespace
}  // namespace wsol
