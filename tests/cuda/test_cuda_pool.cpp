// CUDA pooling (ops/cuda/pool.h) against the CPU kernels: max pooling with padding, dilation and
// ceil_mode (ties and NaN), average pooling with and without the padding in the divisor, adaptive
// average pooling up and down; forward and the gather-form backward passes, with poisoned
// outputs. The backward passes add in the CPU's order, so max pooling's (and in float32/float64
// every) gradient is the CPU's exactly; compared exactly where the arithmetic is identical.
#include "cuda/op_testing.h"
#include "ops/cpu/pool.h"
#if WSOL_CUDA
#include "ops/cuda/pool.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

Pool2dGeometry window(int64_t planes, int64_t h, int64_t w, Size2 k, Size2 s, Size2 p, Size2 d, bool ceil_mode,
                      bool include_pad = true) {
    Pool2dGeometry g{};
    g.planes = planes;
    g.in_h = h;
    g.in_w = w;
    g.kernel_h = k[0];
    g.kernel_w = k[1];
    g.stride_h = s[0];
    g.stride_w = s[1];
    g.pad_h = p[0];
    g.pad_w = p[1];
    g.dilation_h = d[0];
    g.dilation_w = d[1];
    g.out_h = window_output_size(h, k[0], s[0], p[0], d[0], ceil_mode);
    g.out_w = window_output_size(w, k[1], s[1], p[1], d[1], ceil_mode);
    g.count_include_pad = include_pad;
    return g;
}

// Integer-valued inputs (many ties) for max pooling; continuous ones otherwise.
Tensor pool_input(const Pool2dGeometry& g, DType dtype, uint64_t seed, bool ties) {
    Tensor x = random_input({g.planes, g.in_h, g.in_w}, kFloat64, seed, -4, 4);
    if (ties) x = to(to(x, kInt64), kFloat64);
    return to(to(x, dtype), kGPU);
}

#endif

TEST(CudaPool, MaxPoolForwardAndBackward) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    const Pool2dGeometry geometries[] = {
        window(6, 14, 14, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false),
        window(4, 13, 11, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true),   // overlapping windows, ceil mode
        window(3, 12, 12, {3, 2}, {1, 2}, {1, 1}, {2, 1}, false),  // dilation
    };
    for (const Pool2dGeometry& g : geometries) {
        for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
            SCOPED_TRACE(std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) + " " + dtype_name(dtype));
            const DType cd = cpu_compute_dtype(dtype);
            Tensor x = pool_input(g, dtype, seed++, true);
            const Shape out_shape{g.planes, g.out_h, g.out_w};
            Tensor y = poisoned(out_shape, dtype), idx = poisoned(out_shape, kInt64);
            cuda::max_pool2d(y, idx, x, g);
            Tensor ry = Tensor::empty(out_shape, cd), ridx = Tensor::empty(out_shape, kInt64);
            cpu::max_pool2d(ry, ridx, on_cpu_as(x, cd), g);
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype), 0.0));
            EXPECT_TRUE(gpu_matches(idx, ridx, 0.0));
            Tensor gy = random_input(out_shape, dtype, seed++, -1, 1, kGPU);
            Tensor gx = poisoned(x.shape(), dtype);
            cuda::max_pool2d_grad(gx, gy, idx, g);
            Tensor rgx = Tensor::empty(x.shape(), cd);
            cpu::max_pool2d_grad(rgx, on_cpu_as(gy, cd), ridx, g);
            EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), dtype == kBFloat16 ? 1.0 : 0.0));
        }
    }
    // NaN wins the window, as on the CPU.
    Pool2dGeometry g = window(1, 4, 4, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false);
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, NAN, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, NAN}, {1, 4, 4});
    Tensor y = poisoned({1, 2, 2}, kFloat32), idx = poisoned({1, 2, 2}, kInt64);
    cuda::max_pool2d(y, idx, to(x, kGPU), g);
    Tensor ry = Tensor::empty({1, 2, 2}), ridx = Tensor::empty({1, 2, 2}, kInt64);
    cpu::max_pool2d(ry, ridx, x, g);
    EXPECT_TRUE(gpu_matches(y, ry, 0.0));
    EXPECT_TRUE(gpu_matches(idx, ridx, 0.0));
#endif
}

TEST(CudaPool, AverageAndAdaptivePooling) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    const Pool2dGeometry geometries[] = {
        window(6, 14, 14, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false),
        window(4, 13, 11, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true),
        window(4, 13, 11, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false),
        window(2, 9, 9, {4, 3}, {3, 1}, {2, 1}, {1, 1}, false, false),
    };
    for (const Pool2dGeometry& g : geometries) {
        for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
            SCOPED_TRACE(std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) + " " + dtype_name(dtype) +
                         (g.count_include_pad ? " include pad" : ""));
            const DType cd = cpu_compute_dtype(dtype);
            Tensor x = pool_input(g, dtype, seed++, false);
            const Shape out_shape{g.planes, g.out_h, g.out_w};
            Tensor y = poisoned(out_shape, dtype);
            cuda::avg_pool2d(y, x, g);
            Tensor ry = Tensor::empty(out_shape, cd);
            cpu::avg_pool2d(ry, on_cpu_as(x, cd), g);
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype)));
            Tensor gy = random_input(out_shape, dtype, seed++, -1, 1, kGPU);
            Tensor gx = poisoned(x.shape(), dtype);
            cuda::avg_pool2d_grad(gx, gy, g);
            Tensor rgx = Tensor::empty(x.shape(), cd);
            cpu::avg_pool2d_grad(rgx, on_cpu_as(gy, cd), g);
            EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype)));
        }
    }
    // Adaptive: down (overlapping windows) and up.
    for (auto [in, out] : {std::pair<int64_t, int64_t>{14, 1}, {14, 4}, {10, 3}, {5, 7}}) {
        for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
            SCOPED_TRACE("adaptive " + std::to_string(in) + " -> " + std::to_string(out) + " " + dtype_name(dtype));
            const DType cd = cpu_compute_dtype(dtype);
            Pool2dGeometry g{};
            g.planes = 5;
            g.in_h = in;
            g.in_w = in + 1;
            g.out_h = out;
            g.out_w = out + 1;
            Tensor x = pool_input(g, dtype, seed++, false);
            Tensor y = poisoned({5, g.out_h, g.out_w}, dtype);
            cuda::adaptive_avg_pool2d(y, x, g);
            Tensor ry = Tensor::empty({5, g.out_h, g.out_w}, cd);
            cpu::adaptive_avg_pool2d(ry, on_cpu_as(x, cd), g);
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype)));
            Tensor gy = random_input({5, g.out_h, g.out_w}, dtype, seed++, -1, 1, kGPU);
            Tensor gx = poisoned(x.shape(), dtype);
            cuda::adaptive_avg_pool2d_grad(gx, gy, g);
            Tensor rgx = Tensor::empty(x.shape(), cd);
            cpu::adaptive_avg_pool2d_grad(rgx, on_cpu_as(gy, cd), g);
            EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype)));
        }
    }
#endif
}

TEST(CudaPool, OpsThroughAutograd) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({2, 3, 15, 15}, kFloat64, 300, -2, 2);
    for (DType dtype : {kFloat32, kBFloat16}) {
        expect_op_matches("max_pool2d", [](const TensorList& in) { return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}); },
                          {x}, dtype);
        expect_op_matches("avg_pool2d", [](const TensorList& in) {
            return avg_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}, true, false);
        }, {x}, dtype);
        expect_op_matches("adaptive_avg_pool2d", [](const TensorList& in) { return adaptive_avg_pool2d(in[0], {4, 4}); },
                          {x}, dtype);
    }
}

}  // namespace
}  // namespace wsol
