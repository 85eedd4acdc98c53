// CUDA reductions (ops/cuda/reduce.h) against the CPU kernels: sum/max/min over every layout the
// kernel distinguishes (rows by warps, long rows by blocks with split partials, columns, strided
// reduced axes, permuted inputs, size-1 and empty axes), arg max/min with ties and NaN, and
// cumsum forwards and reversed - in every supported dtype, on fresh random inputs, poisoned outputs.
#include <cmath>

#include "cuda/cuda_testing.h"
#include "ops/cpu/reduce.h"
#if WSOL_CUDA
#include "ops/cuda/reduce.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

const DType kReduceTypes[] = {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8};

// Random values suited to the dtype: [-1, 1) for floats, small integers otherwise (so that sums
// stay exact and ties occur).
Tensor reduce_input(const Shape& shape, DType dtype, uint64_t seed, Device device) {
    if (is_floating(dtype)) return random_input(shape, dtype, seed, -1, 1, device);
    return random_input(shape, dtype, seed, dtype == kUInt8 ? 0 : -20, 20, device);
}

const char* op_name(cpu::ReduceOp op) { return op == cpu::ReduceOp::Sum ? "sum" : op == cpu::ReduceOp::Max ? "max" : "min"; }

void check_reduce(cpu::ReduceOp op, const Tensor& x, const Axes& axes_in) {
    const Axes axes = normalize_axes(axes_in, x.dim(), "test");
    const Shape keep = reduced_shape(x.shape(), axes, true);
    int64_t n_red = 1;
    for (int64_t a : axes) n_red *= x.shape()[size_t(a)];
    Tensor out = poisoned(keep, x.dtype());
    cuda::reduce(op, out, x, axes);
    const DType cd = cpu_compute_dtype(x.dtype());
    Tensor ref = Tensor::empty(keep, cd);
    cpu::reduce(op, ref, on_cpu_as(x, cd), axes);
    ref = to(ref, x.dtype());
    if (op == cpu::ReduceOp::Sum && is_floating(x.dtype())) {
        // Float32 sums accumulate in float32 on the GPU (in double on the CPU): the rounding error
        // grows like sqrt(n) for random signs.
        const double scale = std::sqrt(double(std::max<int64_t>(n_red, 1)));
        EXPECT_TRUE(all_close(to(out, kCPU), ref, rtol_for(x.dtype()), atol_for(x.dtype()) * scale));
    } else {
        EXPECT_TRUE(gpu_matches(out, ref, 0.0));  // max, min and integer sums are exact
    }
}

#endif

TEST(CudaReduce, EveryLayoutAndDtype) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    struct Case {
        Shape shape;
        Axes axes;
        const char* what;
    };
    const Case cases[] = {
        {{1000}, {}, "one short row (a warp)"},
        {{300007}, {}, "one long row (a block, split over the grid)"},
        {{64, 197, 48}, {2}, "rows: the innermost axis"},
        {{64, 197, 48}, {1}, "columns: a middle axis"},
        {{64, 197, 48}, {0, 1}, "columns, long (bias gradient, split)"},
        {{64, 197, 48}, {0, 2}, "rows with a strided reduced block"},
        {{7, 3000}, {1}, "few long rows (blocks)"},
        {{5, 1, 7}, {1}, "a size-1 axis"},
        {{2, 3, 4, 5}, {0, 1, 2, 3}, "all axes"},
    };
    uint64_t seed = 10;
    for (const Case& c : cases) {
        for (DType dtype : kReduceTypes) {
            Tensor x = reduce_input(c.shape, dtype, seed++, kGPU);
            for (cpu::ReduceOp op : {cpu::ReduceOp::Sum, cpu::ReduceOp::Max, cpu::ReduceOp::Min}) {
                SCOPED_TRACE(std::string(c.what) + ", " + op_name(op) + ", " + dtype_name(dtype));
                check_reduce(op, x, c.axes);
            }
        }
    }
    // Permuted (non-contiguous) inputs.
    Tensor base = reduce_input({6, 40, 33}, kFloat32, seed++, kGPU);
    for (const Axes& axes : {Axes{0}, Axes{1}, Axes{2}, Axes{0, 2}}) {
        SCOPED_TRACE("permuted");
        check_reduce(cpu::ReduceOp::Sum, permute(base, {2, 0, 1}), axes);
        check_reduce(cpu::ReduceOp::Max, permute(base, {1, 2, 0}), axes);
    }
    // An empty reduction gives the identity (0 for sums).
    check_reduce(cpu::ReduceOp::Sum, reduce_input({0, 4}, kFloat32, seed++, kGPU), {0});
#endif
}

TEST(CudaReduce, MaxMinPropagateNaN) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Tensor x = to(Tensor::from_vector<float>({1, NAN, 3, 4, 5, 6, 7, 8, -1, -2, NAN, 0}, {3, 4}), kGPU);
    for (const Axes& axes : {Axes{0}, Axes{1}, Axes{}}) {
        check_reduce(cpu::ReduceOp::Max, x, axes);
        check_reduce(cpu::ReduceOp::Min, x, axes);
    }
#endif
}

TEST(CudaReduce, ArgMaxMin) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 200;
    for (DType dtype : kReduceTypes) {
        for (const Shape& shape : {Shape{37, 300}, Shape{300, 5}, Shape{4, 19, 6}}) {
            // Integer-valued data (ties: the first index must win).
            Tensor x = to(to(random_input(shape, kFloat64, seed++, dtype == kUInt8 ? 0 : -6, 6), kInt64), dtype);
            x = to(x, kGPU);
            for (int64_t axis = 0; axis < int64_t(shape.size()); ++axis) {
                for (cpu::ReduceOp op : {cpu::ReduceOp::Max, cpu::ReduceOp::Min}) {
                    SCOPED_TRACE(std::string(op_name(op)) + " along " + std::to_string(axis) + " of " + shape_str(shape) +
                                 " " + dtype_name(dtype));
                    const Shape keep = reduced_shape(shape, {axis}, true);
                    Tensor values = poisoned(keep, dtype), indices = poisoned(keep, kInt64);
                    cuda::arg_reduce(op, values, indices, x, axis);
                    const DType cd = cpu_compute_dtype(dtype);
                    Tensor rv = Tensor::empty(keep, cd), ri = Tensor::empty(keep, kInt64);
                    cpu::arg_reduce(op, rv, ri, on_cpu_as(x, cd), axis);
                    EXPECT_TRUE(gpu_matches(values, to(rv, dtype), 0.0));
                    EXPECT_TRUE(gpu_matches(indices, ri, 0.0));
                }
            }
        }
    }
    // NaN: the first NaN wins, along a long (warp) and a short (thread) axis.
    Tensor x = random_input({3, 100}, kFloat32, seed++, -1, 1);
    float* p = x.data<float>();
    p[17] = NAN;
    p[60] = NAN;
    p[100 + 99] = NAN;
    Tensor xg = to(x, kGPU);
    for (int64_t axis : {0, 1}) {
        const Shape keep = reduced_shape(x.shape(), {axis}, true);
        Tensor values = poisoned(keep, kFloat32), indices = poisoned(keep, kInt64);
        cuda::arg_reduce(cpu::ReduceOp::Max, values, indices, xg, axis);
        Tensor rv = Tensor::empty(keep, kFloat32), ri = Tensor::empty(keep, kInt64);
        cpu::arg_reduce(cpu::ReduceOp::Max, rv, ri, x, axis);
        EXPECT_TRUE(gpu_matches(values, rv, 0.0));
        EXPECT_TRUE(gpu_matches(indices, ri, 0.0));
    }
#endif
}

TEST(CudaReduce, Cumsum) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 300;
    for (DType dtype : kReduceTypes) {
        for (const Shape& shape : {Shape{3, 1000}, Shape{500, 7}, Shape{4, 33, 5}}) {
            Tensor x = reduce_input(shape, dtype, seed++, kGPU);
            for (int64_t axis = 0; axis < int64_t(shape.size()); ++axis) {
                for (bool reverse : {false, true}) {
                    SCOPED_TRACE(std::string("cumsum along ") + std::to_string(axis) + (reverse ? " reversed" : "") +
                                 " of " + shape_str(shape) + " " + dtype_name(dtype));
                    Tensor out = poisoned(shape, dtype);
                    cuda::cumsum(out, x, axis, reverse);
                    const DType cd = cpu_compute_dtype(dtype);
                    Tensor ref = Tensor::empty(shape, cd);
                    cpu::cumsum(ref, on_cpu_as(x, cd), axis, reverse);
                    const double scale = std::sqrt(double(shape[size_t(axis)]));
                    if (is_floating(dtype)) {
                        EXPECT_TRUE(all_close(to(out, kCPU), to(to(ref, dtype), kFloat64), rtol_for(dtype),
                                              atol_for(dtype) * scale));
                    } else {
                        EXPECT_TRUE(gpu_matches(out, ref, 0.0));
                    }
                }
            }
        }
    }
    // A transposed input and output.
    Tensor x = transpose(reduce_input({40, 9}, kFloat32, seed++, kGPU), 0, 1);
    Tensor out = transpose(poisoned({40, 9}, kFloat32), 0, 1);
    cuda::cumsum(out, x, 1, false);
    Tensor ref = Tensor::empty({9, 40}, kFloat32);
    cpu::cumsum(ref, to(x, kCPU), 1, false);
    EXPECT_TRUE(all_close(to(out, kCPU), ref, 1e-5, 1e-5));
#endif
}

TEST(CudaReduce, OpsOnTheGpu) {
    // The public reductions, backward included, on CUDA tensors.
    WSOL_REQUIRE_GPU();
    Tensor xc = random_leaf({8, 50, 3}, 77, -1, 1, kFloat32);
    Tensor xg = to(xc.detach(), kGPU);
    xg.set_requires_grad(true);
    auto f = [](const Tensor& x) {
        return add(sum(mul(amax(x, {1}), mean(x, {1}))), sum(logsumexp(x, {2})));
    };
    Tensor lc = f(xc), lg = f(xg);
    EXPECT_TRUE(all_close(to(lg, kCPU), lc, 1e-5, 1e-4));
    backward(lc);
    backward(lg);
    EXPECT_TRUE(all_close(to(xg.grad(), kCPU), xc.grad(), 1e-5, 1e-6));
    EXPECT_EQ(to(argmax(xg, 1), kCPU).to_vector<int64_t>(), argmax(xc, 1).to_vector<int64_t>());
}

}  // namespace
}  // namespace wsol
