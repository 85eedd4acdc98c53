// CUDA elementwise kernels (ops/cuda/elementwise.h, engine/cuda/copy.cu) against the CPU kernels,
// on fresh random inputs in every supported dtype, with poisoned outputs, in three layouts each:
// contiguous with an odd length (16-byte vector body plus a tail), a transposed view (the strided
// path) and a view one element into its storage (misaligned for vectors, so strided too).
#include <cmath>
#include <functional>

#include "cuda/cuda_testing.h"
#include "ops/cpu/elementwise.h"
#if WSOL_CUDA
#include "ops/cuda/elementwise.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

// Three GPU views with random values in [low, high) of `dtype`.
std::vector<Tensor> gpu_layouts(DType dtype, uint64_t seed, double low, double high) {
    std::vector<Tensor> views;
    views.push_back(random_input({1031}, dtype, seed, low, high, kGPU));
    views.push_back(transpose(random_input({23, 37}, dtype, seed + 1, low, high, kGPU), 0, 1));
    views.push_back(narrow(random_input({1032}, dtype, seed + 2, low, high, kGPU), 0, 1, 1031));
    return views;
}

const char* kLayoutNames[] = {"contiguous", "transposed", "misaligned"};

bool to_bool_op(UnaryOp op) { return op == UnaryOp::IsFinite || op == UnaryOp::LogicalNot; }

void check_unary(UnaryOp op, DType dtype, const Tensor& x) {
    Tensor out = poisoned(x.shape(), to_bool_op(op) ? kBool : dtype);
    cuda::unary(op, out, x);
    const Tensor xc = on_cpu_as(x, cpu_compute_dtype(dtype));
    Tensor ref = Tensor::empty(xc.shape(), to_bool_op(op) ? kBool : xc.dtype());
    cpu::unary(op, ref, xc);
    EXPECT_TRUE(gpu_matches(out, to(ref, out.dtype())));
}

struct UnaryRange {
    UnaryOp op;
    double low, high;
};

const UnaryRange kFloatUnary[] = {
    {UnaryOp::Neg, -3, 3},      {UnaryOp::Exp, -3, 3},       {UnaryOp::Log, 0.1, 5},     {UnaryOp::Sqrt, 0.01, 5},
    {UnaryOp::Rsqrt, 0.1, 5},   {UnaryOp::Abs, -3, 3},       {UnaryOp::Sign, -3, 3},     {UnaryOp::Square, -3, 3},
    {UnaryOp::Relu, -3, 3},     {UnaryOp::Sigmoid, -6, 6},   {UnaryOp::Tanh, -3, 3},     {UnaryOp::Gelu, -4, 4},
    {UnaryOp::GeluTanh, -4, 4}, {UnaryOp::Tanhshrink, -3, 3}, {UnaryOp::IsFinite, -3, 3},
};

const DType kFloatTypes[] = {kFloat32, kFloat64, kBFloat16};
const DType kIntTypes[] = {kInt32, kInt64, kUInt8};

#endif

TEST(CudaElementwise, UnaryFloating) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 100;
    for (const UnaryRange& c : kFloatUnary) {
        for (DType dtype : kFloatTypes) {
            const std::vector<Tensor> views = gpu_layouts(dtype, seed += 3, c.low, c.high);
            for (size_t l = 0; l < views.size(); ++l) {
                SCOPED_TRACE(std::string(unary_op_name(c.op)) + " " + dtype_name(dtype) + " " + kLayoutNames[l]);
                check_unary(c.op, dtype, views[l]);
            }
        }
    }
#endif
}

TEST(CudaElementwise, UnaryNonFiniteInputs) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Tensor x = to(Tensor::from_vector<float>({1.0f, NAN, INFINITY, -INFINITY, -0.0f, 0.0f, -2.0f}, {7}), kGPU);
    for (UnaryOp op : {UnaryOp::IsFinite, UnaryOp::Relu, UnaryOp::Abs, UnaryOp::Sign, UnaryOp::Exp, UnaryOp::Sigmoid}) {
        SCOPED_TRACE(unary_op_name(op));
        check_unary(op, kFloat32, x);
    }
#endif
}

TEST(CudaElementwise, UnaryIntegralAndBool) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 300;
    for (DType dtype : kIntTypes) {
        const double low = dtype == kUInt8 ? 0 : -50, high = dtype == kUInt8 ? 250 : 50;
        for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign, UnaryOp::Square, UnaryOp::IsFinite}) {
            const std::vector<Tensor> views = gpu_layouts(dtype, seed += 3, low, high);
            for (size_t l = 0; l < views.size(); ++l) {
                SCOPED_TRACE(std::string(unary_op_name(op)) + " " + dtype_name(dtype) + " " + kLayoutNames[l]);
                check_unary(op, dtype, views[l]);
            }
        }
    }
    for (const Tensor& v : gpu_layouts(kFloat32, 400, -1, 1)) check_unary(UnaryOp::LogicalNot, kBool, gt(v, 0.0));
    // Exp of an integer tensor is an error, as on the CPU.
    Tensor i = random_input({4}, kInt32, 1, -5, 5, kGPU);
    EXPECT_WSOL_ERROR(cuda::unary(UnaryOp::Exp, poisoned({4}, kInt32), i), "exp: not defined for int32");
    // float16 has no math kernels: an error naming the op and the dtype, never a CPU fallback.
    Tensor h = random_input({4}, kFloat16, 2, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::unary(UnaryOp::Exp, poisoned({4}, kFloat16), h), "exp on CUDA: dtype float16 is not supported");
#endif
}

TEST(CudaElementwise, UnaryGradients) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 500;
    for (const UnaryRange& c : kFloatUnary) {
        if (c.op == UnaryOp::Sign || c.op == UnaryOp::IsFinite) continue;  // not differentiable
        for (DType dtype : kFloatTypes) {
            const std::vector<Tensor> xs = gpu_layouts(dtype, seed += 5, c.low, c.high);
            const std::vector<Tensor> gys = gpu_layouts(dtype, seed + 100, -1, 1);
            for (size_t l = 0; l < xs.size(); ++l) {
                SCOPED_TRACE(std::string(unary_op_name(c.op)) + " backward " + dtype_name(dtype) + " " + kLayoutNames[l]);
                const DType cd = cpu_compute_dtype(dtype);
                const Tensor xc = on_cpu_as(xs[l], cd), gyc = on_cpu_as(gys[l], cd);
                Tensor yc = Tensor::empty(xc.shape(), cd);
                cpu::unary(c.op, yc, xc);
                const Tensor y = to(to(yc, dtype), kGPU);  // the saved output, as the forward would give it
                Tensor ref = Tensor::empty(xc.shape(), cd);
                cpu::unary_grad(c.op, ref, gyc, xc, on_cpu_as(y, cd));
                Tensor out = poisoned(xs[l].shape(), dtype);
                cuda::unary_grad(c.op, out, gys[l], xs[l], y);
                EXPECT_TRUE(gpu_matches(out, to(ref, dtype)));
            }
        }
    }
#endif
}

#if WSOL_CUDA

struct BinaryRange {
    BinaryOp op;
    double low, high;      // operand range
    bool floating_only;
};

const BinaryRange kBinary[] = {
    {BinaryOp::Add, -3, 3, false},     {BinaryOp::Sub, -3, 3, false},     {BinaryOp::Mul, -3, 3, false},
    {BinaryOp::Div, 0.5, 3, true},     {BinaryOp::Pow, 0.2, 2, true},     {BinaryOp::Maximum, -3, 3, false},
    {BinaryOp::Minimum, -3, 3, false}, {BinaryOp::Eq, -2, 2, false},      {BinaryOp::Ne, -2, 2, false},
    {BinaryOp::Lt, -2, 2, false},      {BinaryOp::Le, -2, 2, false},      {BinaryOp::Gt, -2, 2, false},
    {BinaryOp::Ge, -2, 2, false},
};

// Integer-valued operands for the comparisons (so that ties occur), random ones otherwise.
Tensor operand(const Shape& shape, DType dtype, uint64_t seed, const BinaryRange& c) {
    const bool ints = !is_floating(dtype) || is_comparison(c.op);
    const double low = dtype == kUInt8 ? 0 : (ints ? std::floor(c.low) : c.low);
    const double high = dtype == kUInt8 ? 12 : (ints ? std::ceil(c.high) : c.high);
    Tensor x = random_input(shape, kFloat64, seed, low, high);
    if (ints) x = to(to(x, kInt64), kFloat64);  // truncated towards 0
    return to(to(x, dtype), kGPU);
}

void check_binary(BinaryOp op, DType dtype, const Tensor& a, const Tensor& b) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
    Tensor out = poisoned(shape, is_comparison(op) ? kBool : dtype);
    cuda::binary(op, out, a, b);
    const DType cd = cpu_compute_dtype(dtype);
    Tensor ref = Tensor::empty(shape, is_comparison(op) ? kBool : cd);
    cpu::binary(op, ref, on_cpu_as(a, cd), on_cpu_as(b, cd));
    EXPECT_TRUE(gpu_matches(out, to(ref, out.dtype())));
}

void check_binary_scalar(BinaryOp op, DType dtype, const Tensor& a, double scalar, bool first) {
    Tensor out = poisoned(a.shape(), is_comparison(op) ? kBool : dtype);
    cuda::binary_scalar(op, out, a, scalar, first);
    const DType cd = cpu_compute_dtype(dtype);
    Tensor ref = Tensor::empty(a.shape(), is_comparison(op) ? kBool : cd);
    // For bfloat16 the CPU reference rounds the scalar to bfloat16 first, as the kernel does.
    const double s = dtype == kBFloat16 ? double(float(BFloat16(float(scalar)))) : scalar;
    cpu::binary_scalar(op, ref, on_cpu_as(a, cd), s, first);
    EXPECT_TRUE(gpu_matches(out, to(ref, out.dtype())));
}

#endif

TEST(CudaElementwise, Binary) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 1000;
    for (const BinaryRange& c : kBinary) {
        for (DType dtype : {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8}) {
            if (c.floating_only && !is_floating(dtype)) continue;
            SCOPED_TRACE(std::string(binary_op_name(c.op)) + " " + dtype_name(dtype));
            // Same shape, contiguous: the vector path.
            check_binary(c.op, dtype, operand({999}, dtype, seed, c), operand({999}, dtype, seed + 1, c));
            // Broadcasting (a bias-like row and a column): the strided path.
            check_binary(c.op, dtype, operand({7, 1, 33}, dtype, seed + 2, c), operand({5, 33}, dtype, seed + 3, c));
            // A transposed operand.
            check_binary(c.op, dtype, transpose(operand({9, 13}, dtype, seed + 4, c), 0, 1), operand({13, 9}, dtype, seed + 5, c));
            // Scalar on either side.
            const double scalar = is_floating(dtype) ? 0.75 : 3.0;
            check_binary_scalar(c.op, dtype, operand({257}, dtype, seed + 6, c), scalar, false);
            check_binary_scalar(c.op, dtype, operand({257}, dtype, seed + 7, c), scalar, true);
            seed += 8;
        }
    }
#endif
}

TEST(CudaElementwise, BinaryNaNAndBool) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    Tensor a = to(Tensor::from_vector<float>({1.0f, NAN, 3.0f, NAN}, {4}), kGPU);
    Tensor b = to(Tensor::from_vector<float>({NAN, 2.0f, 1.0f, NAN}, {4}), kGPU);
    for (BinaryOp op : {BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt}) {
        SCOPED_TRACE(binary_op_name(op));
        check_binary(op, kFloat32, a, b);
    }
    Tensor p = gt(random_input({300}, kFloat32, 7, -1, 1, kGPU), 0.0), q = gt(random_input({300}, kFloat32, 8, -1, 1, kGPU), 0.0);
    for (BinaryOp op : {BinaryOp::LogicalAnd, BinaryOp::LogicalOr, BinaryOp::Eq, BinaryOp::Ne}) {
        SCOPED_TRACE(binary_op_name(op));
        check_binary(op, kBool, p, q);
        check_binary_scalar(op, kBool, p, 1.0, false);
    }
    EXPECT_WSOL_ERROR(cuda::binary(BinaryOp::Div, poisoned({300}, kInt32), to(p, kInt32), to(q, kInt32)),
                      "div: not defined for int32");
#endif
}

TEST(CudaElementwise, WhereEveryDtype) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 2000;
    Tensor cond = gt(random_input({5, 1}, kFloat32, seed++, -1, 1, kGPU), 0.0);
    for (DType dtype : {kFloat32, kFloat64, kBFloat16, kFloat16, kInt32, kInt64, kUInt8, kBool}) {
        SCOPED_TRACE(dtype_name(dtype));
        Tensor a = random_input({5, 7}, dtype, seed++, -10, 10, kGPU), b = random_input({7}, dtype, seed++, -10, 10, kGPU);
        Tensor out = poisoned({5, 7}, dtype);
        cuda::where(out, cond, a, b);
        Tensor ref = Tensor::empty({5, 7}, dtype);
        cpu::where(ref, to(cond, kCPU), to(a, kCPU), to(b, kCPU));
        EXPECT_TRUE(gpu_matches(out, ref, 0.0));  // data movement: exact
        Tensor c2 = gt(random_input({1031}, kFloat32, seed++, -1, 1, kGPU), 0.0);
        Tensor x = random_input({1031}, dtype, seed++, -10, 10, kGPU), y = random_input({1031}, dtype, seed++, -10, 10, kGPU);
        Tensor out2 = poisoned({1031}, dtype);
        cuda::where(out2, c2, x, y);
        Tensor ref2 = Tensor::empty({1031}, dtype);
        cpu::where(ref2, to(c2, kCPU), to(x, kCPU), to(y, kCPU));
        EXPECT_TRUE(gpu_matches(out2, ref2, 0.0));
    }
#endif
}

TEST(CudaElementwise, ClampFillAddScaled) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 3000;
    for (DType dtype : {kFloat32, kFloat64, kBFloat16, kInt32, kInt64, kUInt8}) {
        const double lo = is_floating(dtype) ? -0.5 : 10, hi = is_floating(dtype) ? 0.25 : 20;
        for (const Tensor& x : gpu_layouts(dtype, seed += 3, is_floating(dtype) ? -1 : 0, is_floating(dtype) ? 1 : 30)) {
            SCOPED_TRACE(std::string("clamp ") + dtype_name(dtype));
            const DType cd = cpu_compute_dtype(dtype);
            for (auto [low, high] : std::initializer_list<std::pair<double, double>>{{lo, hi}, {-INFINITY, hi}, {lo, INFINITY}}) {
                Tensor out = poisoned(x.shape(), dtype);
                cuda::clamp(out, x, low, high);
                Tensor ref = Tensor::empty(x.shape(), cd);
                cpu::clamp(ref, on_cpu_as(x, cd), low, high);
                EXPECT_TRUE(gpu_matches(out, to(ref, dtype)));
            }
        }
    }
    for (DType dtype : kFloatTypes) {
        SCOPED_TRACE(std::string("clamp backward, add_ ") + dtype_name(dtype));
        const DType cd = cpu_compute_dtype(dtype);
        Tensor x = random_input({513}, dtype, seed++, -1, 1, kGPU), g = random_input({513}, dtype, seed++, -1, 1, kGPU);
        Tensor out = poisoned({513}, dtype);
        cuda::clamp_grad(out, g, x, -0.3, 0.4);
        Tensor ref = Tensor::empty({513}, cd);
        cpu::clamp_grad(ref, on_cpu_as(g, cd), on_cpu_as(x, cd), -0.3, 0.4);
        EXPECT_TRUE(gpu_matches(out, to(ref, dtype)));
        // add_: in place on a transposed view, the update broadcast along rows.
        Tensor base = random_input({9, 6}, dtype, seed++, -1, 1, kGPU);
        Tensor view = transpose(base, 0, 1);  // (6, 9)
        Tensor y = random_input({9}, dtype, seed++, -1, 1, kGPU);
        Tensor expected = on_cpu_as(view, cd);
        cpu::add_scaled(expected, on_cpu_as(y, cd), -0.3);
        cuda::add_scaled(view, y, -0.3);
        EXPECT_TRUE(gpu_matches(contiguous(view), to(expected, dtype)));
    }
    for (DType dtype : {kFloat32, kFloat64, kBFloat16, kFloat16, kInt32, kInt64, kUInt8, kBool}) {
        SCOPED_TRACE(std::string("fill ") + dtype_name(dtype));
        Tensor base = poisoned({11, 5}, dtype);
        cuda::fill(transpose(base, 0, 1), 2.5);  // a strided view covering everything
        Tensor ref = Tensor::empty({11, 5}, dtype);
        cpu::fill(ref, 2.5);
        EXPECT_TRUE(gpu_matches(base, ref, 0.0));
    }
#endif
}

TEST(CudaElementwise, CopyAndAddInto) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 4000;
    // Same dtype, contiguous: the 16-byte vector byte copy (odd byte count for the tail).
    for (DType dtype : {kFloat32, kBFloat16, kUInt8, kFloat64}) {
        Tensor x = random_input({4099}, dtype, seed++, -5, 5, kGPU);
        Tensor y = poisoned({4099}, dtype);
        copy_into(y, x);
        EXPECT_TRUE(gpu_matches(y, to(x, kCPU), 0.0)) << dtype_name(dtype);
    }
    // Conversions, broadcasting and strided sources and destinations.
    for (DType from : {kFloat32, kFloat64, kBFloat16, kInt64, kBool}) {
        for (DType into : {kFloat32, kBFloat16, kInt32, kBool}) {
            SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(into));
            Tensor x = random_input({3, 1, 17}, from, seed++, -4, 4, kGPU);
            Tensor y = poisoned({3, 5, 17}, into);
            copy_into(y, x);
            Tensor ref = Tensor::empty({3, 5, 17}, into);
            copy_into(ref, to(x, kCPU));
            EXPECT_TRUE(gpu_matches(y, ref, 0.0));
            Tensor t = transpose(random_input({17, 6}, from, seed++, -4, 4, kGPU), 0, 1);
            Tensor z = poisoned({6, 17}, into);
            copy_into(z, t);
            Tensor ref2 = Tensor::empty({6, 17}, into);
            copy_into(ref2, to(t, kCPU));
            EXPECT_TRUE(gpu_matches(z, ref2, 0.0));
        }
    }
    for (DType dtype : kFloatTypes) {
        Tensor a = random_input({40, 3}, dtype, seed++, -1, 1, kGPU), b = random_input({40, 3}, dtype, seed++, -1, 1, kGPU);
        Tensor expected = add(on_cpu_as(a, cpu_compute_dtype(dtype)), on_cpu_as(b, cpu_compute_dtype(dtype)));
        add_into(a, b);
        EXPECT_TRUE(gpu_matches(a, to(expected, dtype))) << dtype_name(dtype);
    }
#endif
}

TEST(CudaElementwise, OpsDispatchToTheGpu) {
    // The public ops on CUDA tensors (autograd included) agree with the same ops on the CPU.
    WSOL_REQUIRE_GPU();
    Tensor xc = random_leaf({6, 5}, 9, -2, 2, kFloat32), yc = random_leaf({5}, 10, 0.5, 2, kFloat32);
    Tensor xg = to(xc.detach(), kGPU), yg = to(yc.detach(), kGPU);
    xg.set_requires_grad(true);
    yg.set_requires_grad(true);
    auto f = [](const Tensor& x, const Tensor& y) { return sum(mul(gelu(div(x, y)), sigmoid(x))); };
    Tensor lc = f(xc, yc), lg = f(xg, yg);
    EXPECT_TRUE(all_close(to(lg, kCPU), lc, 1e-5, 1e-5));
    backward(lc);
    backward(lg);
    EXPECT_TRUE(all_close(to(xg.grad(), kCPU), xc.grad(), 1e-5, 1e-6));
    EXPECT_TRUE(all_close(to(yg.grad(), kCPU), yc.grad(), 1e-5, 1e-6));
}

}  // namespace
}  // namespace wsol
