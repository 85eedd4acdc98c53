// CUDA indexing (ops/cuda/index.h) against the CPU kernels: gather with strided inputs and an
// expanded index; scatter_add with colliding indices (deterministic, and in float32 the CPU's
// sums bit for bit); remap (pad in 3 modes, roll, flip) and its transpose; one_hot; every dtype
// the kernels take, int32 and int64 indices, poisoned outputs. Then every op of ops/index.h through
// autograd on the GPU (cat, stack, split/chunk views, index_select, gather, scatter_add,
// masked_fill, pad, roll, flip, one_hot).
#include "cuda/op_testing.h"
#include "ops/cpu/index.h"
#if WSOL_CUDA
#include "ops/cuda/index.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

const DType kNumericTypes[] = {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8};

Tensor values_of(const Shape& shape, DType dtype, uint64_t seed) {
    if (is_floating(dtype)) return random_input(shape, dtype, seed, -2, 2);
    return to(to(random_input(shape, kFloat64, seed, 0, 50), kInt64), dtype);
}

// Indices in [0, size) of `dtype` (int32 or int64).
Tensor indices_of(const Shape& shape, int64_t size, DType dtype, uint64_t seed) {
    return to(to(random_input(shape, kFloat64, seed, 0, double(size)), kInt64), dtype);
}

#endif

TEST(CudaIndex, GatherAndScatterAdd) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1;
    for (DType dtype : kNumericTypes) {
        for (DType itype : {kInt64, kInt32}) {
            SCOPED_TRACE(std::string(dtype_name(dtype)) + " index " + dtype_name(itype));
            const DType cd = cpu_compute_dtype(dtype);
            // x (6, 9) strided; gather along axis 1 with an index (6, 20) (repeats).
            Tensor x = transpose(to(values_of({9, 6}, dtype, seed++), kGPU), 0, 1);
            Tensor index = to(indices_of({6, 20}, 9, itype, seed++), kGPU);
            Tensor out = poisoned({6, 20}, dtype);
            cuda::gather(out, x, 1, index);
            Tensor ref = Tensor::empty({6, 20}, cd);
            cpu::gather(ref, on_cpu_as(x, cd), 1, to(index, kCPU));
            EXPECT_TRUE(gpu_matches(out, to(ref, dtype), 0.0)) << "gather";

            // scatter_add along axis 0: many collisions per target.
            Tensor target = to(values_of({5, 8}, dtype, seed++), kGPU);
            Tensor src = to(values_of({40, 9}, dtype, seed++), kGPU);
            Tensor sindex = to(indices_of({40, 8}, 5, itype, seed++), kGPU);
            Tensor y = clone(target);
            cuda::scatter_add(y, 0, sindex, src);
            Tensor ry = to(on_cpu_as(target, cd), cd);
            ry = clone(ry);
            cpu::scatter_add(ry, 0, to(sindex, kCPU), on_cpu_as(src, cd));
            // The same additions in the same order: exact except for bf16 (summed in float32 here).
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype), dtype == kBFloat16 ? 4.0 : 0.0)) << "scatter_add";
            Tensor y2 = clone(target);
            cuda::scatter_add(y2, 0, sindex, src);
            EXPECT_TRUE(same_bits(y2, y)) << "deterministic";
        }
    }
#endif
}

TEST(CudaIndex, RemapAndItsTranspose) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    // Tables as ops/index_remap.cpp builds them: reflect pad (2, 1) of 4, flip of 3, identity.
    const cpu::IndexTables tables = {{}, {2, 1, 0, 1, 2, 3, 2}, {2, 1, 0}};
    const cpu::IndexTables constant = {{}, {-1, -1, 0, 1, 2, 3, -1}, {}};
    uint64_t seed = 100;
    for (DType dtype : {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8, kBool}) {
        SCOPED_TRACE(dtype_name(dtype));
        const DType cd = cpu_compute_dtype(dtype);
        Tensor x = dtype == kBool ? to(gt(random_input({2, 4, 3}, kFloat64, seed++), 0.0), kGPU)
                                  : permute(to(values_of({3, 2, 4}, dtype, seed++), kGPU), {1, 2, 0});  // strided
        for (const cpu::IndexTables* t : {&tables, &constant}) {
            const Shape out_shape{2, 7, 3};
            Tensor y = poisoned(out_shape, dtype);
            cuda::remap(y, x, *t, 5.0);
            Tensor ry = Tensor::empty(out_shape, cd);
            cpu::remap(ry, on_cpu_as(x, cd), *t, 5.0);
            EXPECT_TRUE(gpu_matches(y, to(ry, dtype), 0.0)) << "remap";
        }
        if (dtype == kBool) continue;
        Tensor g = to(values_of({2, 7, 3}, dtype, seed++), kGPU);
        Tensor gx = poisoned({2, 4, 3}, dtype);
        cuda::remap_add(gx, g, tables);
        Tensor rgx = Tensor::empty({2, 4, 3}, cd);
        cpu::remap_add(rgx, on_cpu_as(g, cd), tables);
        EXPECT_TRUE(gpu_matches(gx, to(rgx, dtype), dtype == kBFloat16 ? 1.0 : 0.0)) << "remap_add";
    }
    // one_hot from int32 and int64 indices.
    for (DType itype : {kInt64, kInt32}) {
        Tensor index = indices_of({3, 5}, 7, itype, seed++);
        Tensor out = poisoned({3, 5, 7}, kInt64);
        cuda::one_hot(out, to(index, kGPU));
        Tensor ref = Tensor::empty({3, 5, 7}, kInt64);
        cpu::one_hot(ref, index);
        EXPECT_TRUE(gpu_matches(out, ref, 0.0));
    }
#endif
}

TEST(CudaIndex, EveryOpThroughAutograd) {
    WSOL_REQUIRE_GPU();
    Tensor a = random_input({4, 6, 5}, kFloat64, 200, -1, 1), b = random_input({4, 3, 5}, kFloat64, 201, -1, 1);
    Tensor c = random_input({4, 6, 5}, kFloat64, 202, -1, 1);
    const Tensor idx = Tensor::from_vector<int64_t>({2, 0, 2, 5, 1}, {5});
    const Tensor gidx = Tensor::from_vector<int64_t>({1, 1, 0, 3, 3, 3, 4, 0}, {2, 4, 1});
    for (DType dtype : {kFloat32, kFloat64, kBFloat16}) {
        expect_op_matches("cat", [](const TensorList& in) { return cat({in[0], in[1]}, 1); }, {a, b}, dtype);
        expect_op_matches("stack", [](const TensorList& in) { return stack({in[0], mul(in[0], 2.0)}, 2); }, {a}, dtype);
        expect_op_matches("split / chunk views", [](const TensorList& in) {
            TensorList pieces = split(in[0], 4, 1);
            TensorList halves = chunk(in[0], 2, 2);
            return add(mul(pieces[1], narrow(pieces[0], 1, 0, 2)), sum(halves[0]));
        }, {a}, dtype);
        expect_op_matches("index_select (repeats)", [&idx](const TensorList& in) {
            return index_select(in[0], 1, to(idx, in[0].device()));
        }, {a}, dtype);
        expect_op_matches("gather", [&gidx](const TensorList& in) {
            return gather(in[0], 1, expand(to(gidx, in[0].device()), {2, 4, 5}));
        }, {a}, dtype);
        expect_op_matches("scatter_add", [&gidx](const TensorList& in) {
            return scatter_add(in[0], 1, expand(to(gidx, in[0].device()), {2, 4, 5}), in[1]);
        }, {a, c}, dtype, 2.0);
        expect_op_matches("masked_fill", [](const TensorList& in) {
            return masked_fill(in[0], gt(in[1], 0.0), -3.0);
        }, {a, a}, dtype);
        for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Replicate}) {
            expect_op_matches("pad", [mode](const TensorList& in) {
                return pad(in[0], {2, 1, 3, 2}, mode, mode == PadMode::Constant ? 0.5 : 0.0);
            }, {a}, dtype);
        }
        expect_op_matches("roll", [](const TensorList& in) { return roll(in[0], {2, -1}, {1, 2}); }, {a}, dtype);
        expect_op_matches("flip", [](const TensorList& in) { return flip(in[0], {0, 2}); }, {a}, dtype);
    }
    expect_op_matches("one_hot", [](const TensorList& in) { return one_hot(in[0], 7); },
                      {Tensor::from_vector<int64_t>({0, 6, 3, 3}, {2, 2})}, kFloat32);
}

}  // namespace
}  // namespace wsol
