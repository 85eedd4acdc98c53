// CUDA sort / argsort / topk (ops/cuda/sort.h) against the CPU kernels, compared exactly (values
// and indices): every supported dtype, both directions, ties (the stable order / the lower index),
// NaN and -0.0, lines along inner and outer axes of strided inputs; topk by selection (k <= 16:
// the top-5 of 1000 classes) and through the segmented sort (large k, long lines), sorted and
// unsorted.
#include <cmath>

#include "cuda/op_testing.h"
#include "ops/cpu/sort.h"
#if WSOL_CUDA
#include "ops/cuda/sort.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

const DType kSortTypes[] = {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8};

// Values with many ties: integers in a small range (converted to the dtype).
Tensor tied_input(const Shape& shape, DType dtype, uint64_t seed) {
    const double low = dtype == kUInt8 ? 0 : -8;
    return to(to(random_input(shape, kFloat64, seed, low, 8), kInt64), dtype);
}

// The CPU reference on the same values (bfloat16 sorted as float32: exact, same order).
void expect_sort_matches(const Tensor& x, int64_t axis, bool descending) {
    const DType cd = cpu_compute_dtype(x.dtype());
    Tensor values = poisoned(x.shape(), x.dtype()), indices = poisoned(x.shape(), kInt64);
    cuda::sort(values, indices, x, axis, descending);
    Tensor rv = Tensor::empty(x.shape(), cd), ri = Tensor::empty(x.shape(), kInt64);
    cpu::sort(rv, ri, on_cpu_as(x, cd), axis, descending);
    EXPECT_TRUE(gpu_matches(values, to(rv, x.dtype()), 0.0)) << "values";
    EXPECT_TRUE(gpu_matches(indices, ri, 0.0)) << "indices";
}

void expect_topk_matches(const Tensor& x, int64_t k, int64_t axis, bool largest, bool sorted) {
    const DType cd = cpu_compute_dtype(x.dtype());
    Shape shape = x.shape();
    shape[size_t(axis)] = k;
    Tensor values = poisoned(shape, x.dtype()), indices = poisoned(shape, kInt64);
    cuda::topk(values, indices, x, k, axis, largest, sorted);
    Tensor rv = Tensor::empty(shape, cd), ri = Tensor::empty(shape, kInt64);
    cpu::topk(rv, ri, on_cpu_as(x, cd), k, axis, largest, sorted);
    EXPECT_TRUE(gpu_matches(values, to(rv, x.dtype()), 0.0)) << "values";
    EXPECT_TRUE(gpu_matches(indices, ri, 0.0)) << "indices";
}

#endif

TEST(CudaSort, SortEveryDtypeAxisAndDirection) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    for (DType dtype : kSortTypes) {
        for (const Shape& shape : {Shape{7, 50}, Shape{30, 4, 9}, Shape{3000}}) {
            Tensor x = to(tied_input(shape, dtype, seed++), kGPU);
            for (int64_t axis = 0; axis < int64_t(shape.size()); ++axis) {
                for (bool descending : {false, true}) {
                    SCOPED_TRACE(shape_str(shape) + " axis " + std::to_string(axis) + (descending ? " desc " : " asc ") +
                                 dtype_name(dtype));
                    expect_sort_matches(x, axis, descending);
                }
            }
        }
    }
    // A strided input: the lines are read through the view.
    Tensor t = transpose(to(tied_input({20, 33}, kFloat32, seed++), kGPU), 0, 1);
    expect_sort_matches(t, 1, false);
    expect_sort_matches(t, 0, true);
#endif
}

TEST(CudaSort, NaNAndSignedZeroOrderLikeTheCpu) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    const float inf = INFINITY;
    for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
        Tensor x = to(to(Tensor::from_vector<float>({3, NAN, -0.0f, 0.0f, -inf, 1, NAN, inf, -0.0f, 2, -1, 0.0f},
                                                    {2, 6}),
                         dtype),
                      kGPU);
        for (bool descending : {false, true}) expect_sort_matches(x, 1, descending);
        for (bool largest : {true, false}) {
            expect_topk_matches(x, 4, 1, largest, true);
            expect_topk_matches(x, 3, 1, largest, false);
        }
    }
#endif
}

TEST(CudaSort, TopkBySelectionAndBySort) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    // The case that matters: top-5 of 1000 classes for a batch of images (continuous values).
    Tensor logits = random_input({256, 1000}, kFloat32, seed++, -10, 10, kGPU);
    expect_topk_matches(logits, 5, 1, true, true);
    expect_topk_matches(to(logits, kBFloat16), 5, 1, true, true);  // bf16: ties do occur
    for (DType dtype : kSortTypes) {
        SCOPED_TRACE(dtype_name(dtype));
        Tensor x = to(tied_input({12, 300}, dtype, seed++), kGPU);
        for (int64_t k : {1, 5, 16, 40, 300}) {  // selection up to 16, the segmented sort above
            for (bool largest : {true, false}) {
                for (bool sorted : {true, false}) {
                    SCOPED_TRACE("k " + std::to_string(k) + (largest ? " largest" : " smallest") +
                                 (sorted ? " sorted" : " unsorted"));
                    expect_topk_matches(x, k, 1, largest, sorted);
                }
            }
        }
        expect_topk_matches(x, 3, 0, true, true);  // lines along the outer axis (strided)
    }
    // Long lines go through the sort even for small k.
    Tensor long_lines = to(tied_input({2, 20000}, kFloat32, seed++), kGPU);
    expect_topk_matches(long_lines, 5, 1, true, true);
    expect_topk_matches(long_lines, 5, 1, false, false);
#endif
}

TEST(CudaSort, OpsOnTheGpu) {
    WSOL_REQUIRE_GPU();
    Tensor x = random_input({4, 1000}, kFloat32, 7, -1, 1);
    ValuesIndices c = topk(x, 5, -1), g = topk(to(x, kGPU), 5, -1);
    EXPECT_TRUE(gpu_matches(g.values, c.values, 0.0));
    EXPECT_TRUE(gpu_matches(g.indices, c.indices, 0.0));
    EXPECT_TRUE(gpu_matches(argsort(to(x, kGPU), 0, true), argsort(x, 0, true), 0.0));
    EXPECT_WSOL_ERROR(sort(Tensor::zeros({3}, kBool, kGPU)), "sort on CUDA: dtype bool");
}

}  // namespace
}  // namespace wsol
