// The core ops (ops/elementwise.h, ops/reduce.h, ops/shape.h) against PyTorch: values and input
// gradients from tools/reference/ops_core.py (tests/fixtures/ops/core.safetensors), in float32.
// Every case runs twice: with the stored (contiguous) inputs and with every floating input in a
// non-contiguous layout. Binary cases broadcast their inputs.
#include "math_helpers.h"

namespace wsol {
namespace {

using testing::core_fixtures;
using testing::expect_matches_fixture;
using testing::non_contiguous;

void check(const std::string& name, const TensorFunction& f, bool strided = true) {
    expect_matches_fixture(core_fixtures(), name, f);
    if (!strided) return;
    SCOPED_TRACE("non-contiguous inputs");
    expect_matches_fixture(core_fixtures(), name, [&](const TensorList& in) {
        TensorList s;
        for (const Tensor& x : in) s.push_back(is_floating(x.dtype()) && x.numel() > 1 ? non_contiguous(x) : x);
        return f(s);
    });
}

using Binary = Tensor (*)(const Tensor&, const Tensor&);
TensorFunction binary(Binary op) {
    return [op](const TensorList& in) { return TensorList{op(in[0], in[1])}; };
}
template <class F>
TensorFunction unary(F op) {
    return [op](const TensorList& in) { return TensorList{op(in[0])}; };
}

TEST(CoreFixtures, BinaryWithBroadcasting) {
    check("add", binary(add));
    check("sub", binary(sub));
    check("mul", binary(mul));
    check("div", binary(div));
    check("pow", binary(pow));
    check("maximum", binary(maximum));
    check("minimum", binary(minimum));
    check("add_row", binary(add));
}

TEST(CoreFixtures, TensorScalar) {
    check("add_scalar", unary([](const Tensor& x) { return x + 2.5; }));
    check("sub_scalar", unary([](const Tensor& x) { return x - 1.5; }));
    check("rsub_scalar", unary([](const Tensor& x) { return 1.0 - x; }));
    check("mul_scalar", unary([](const Tensor& x) { return x * -3.0; }));
    check("div_scalar", unary([](const Tensor& x) { return x / 4.0; }));
    check("rdiv_scalar", unary([](const Tensor& x) { return 2.0 / x; }));
    check("pow_scalar", unary([](const Tensor& x) { return pow(x, 2.5); }));
    check("pow_scalar_negative", unary([](const Tensor& x) { return pow(x, -1.5); }));
}

TEST(CoreFixtures, UnaryAndActivations) {
    check("neg", unary([](const Tensor& x) { return neg(x); }));
    check("exp", unary([](const Tensor& x) { return exp(x); }));
    check("log", unary([](const Tensor& x) { return log(x); }));
    check("sqrt", unary([](const Tensor& x) { return sqrt(x); }));
    check("rsqrt", unary([](const Tensor& x) { return rsqrt(x); }));
    check("abs", unary([](const Tensor& x) { return abs(x); }));
    check("square", unary([](const Tensor& x) { return square(x); }));
    check("clamp", unary([](const Tensor& x) { return clamp(x, -0.5, 1.0); }));
    check("clamp_min", unary([](const Tensor& x) { return clamp(x, 0.3, std::nullopt); }));
    check("clamp_max", unary([](const Tensor& x) { return clamp(x, std::nullopt, -0.3); }));
    check("relu", unary([](const Tensor& x) { return relu(x); }));
    check("sigmoid", unary([](const Tensor& x) { return sigmoid(x); }));
    check("tanh", unary([](const Tensor& x) { return tanh(x); }));
    check("gelu", unary([](const Tensor& x) { return gelu(x); }));
    check("gelu_tanh", unary([](const Tensor& x) { return gelu(x, GeluApproximation::Tanh); }));
    check("tanhshrink", unary([](const Tensor& x) { return tanhshrink(x); }));
}

TEST(CoreFixtures, Where) {
    check("where", [](const TensorList& in) { return TensorList{where(in[0], in[1], in[2])}; });
    check("where_scalar", [](const TensorList& in) { return TensorList{where(in[0], in[1], -0.75)}; });
}

TEST(CoreFixtures, Reductions) {
    check("sum_all", unary([](const Tensor& x) { return sum(x); }));
    check("sum_axes", unary([](const Tensor& x) { return sum(x, {0, 2}); }));
    check("sum_keepdim", unary([](const Tensor& x) { return sum(x, {1}, true); }));
    check("mean", unary([](const Tensor& x) { return mean(x, {-1}); }));
    check("mean_all", unary([](const Tensor& x) { return mean(x); }));
    check("var", unary([](const Tensor& x) { return var(x, {1}); }));
    check("var_population", unary([](const Tensor& x) { return var(x, {0, 2}, 0, true); }));
    check("amax", unary([](const Tensor& x) { return amax(x, {1}); }));
    check("amin", unary([](const Tensor& x) { return amin(x, {0, 1}); }));
    check("max_dim", [](const TensorList& in) {
        ValuesIndices m = max(in[0], 1);
        return TensorList{m.values, m.indices};
    });
    check("min_dim_keepdim", [](const TensorList& in) {
        ValuesIndices m = min(in[0], -1, true);
        return TensorList{m.values, m.indices};
    });
    check("logsumexp", unary([](const Tensor& x) { return logsumexp(x, {1}); }));
    check("logsumexp_two_axes", unary([](const Tensor& x) { return logsumexp(x, {0, 2}, true); }));
    check("cumsum", unary([](const Tensor& x) { return cumsum(x, 1); }));
    check("cumsum_first", unary([](const Tensor& x) { return cumsum(x, 0); }));
}

TEST(CoreFixtures, ShapeAndLayout) {
    check("reshape", unary([](const Tensor& x) { return reshape(x, {4, 6}); }));
    check("view", unary([](const Tensor& x) { return view(x, {6, 4}); }), /*strided=*/false);  // views need a layout
    check("flatten", unary([](const Tensor& x) { return flatten(x, 1); }));
    check("permute", unary([](const Tensor& x) { return permute(x, {2, 0, 1}); }));
    check("transpose", unary([](const Tensor& x) { return transpose(x, 0, 2); }));
    check("narrow", unary([](const Tensor& x) { return narrow(x, 2, 1, 2); }));
    check("slice_step", unary([](const Tensor& x) { return slice(x, 2, 0, 4, 3); }));
    check("slice_negative", unary([](const Tensor& x) { return slice(x, 1, -2, 100); }));
    check("select", unary([](const Tensor& x) { return select(x, 1, 2); }));
    check("expand", unary([](const Tensor& x) { return expand(unsqueeze(x, 0), {3, 2, 3, 4}); }));
    check("expand_size1", unary([](const Tensor& x) { return expand(x, {2, 5, 4}); }));
    check("squeeze", unary([](const Tensor& x) { return squeeze(x, 1); }));
    check("unsqueeze", unary([](const Tensor& x) { return unsqueeze(x, -1); }));
    check("contiguous", unary([](const Tensor& x) { return contiguous(transpose(x, 0, 1)); }));
    check("clone", unary([](const Tensor& x) { return mul(clone(x), 2.0); }));
    check("to_float64", unary([](const Tensor& x) { return mul(to(x, kFloat64), 3.0); }));
    check("chain", [](const TensorList& in) {
        return TensorList{mean(sigmoid(sum(mul(transpose(in[0], 0, 1), in[1]), {-1})))};
    });
}

// The multi-output views (every piece gets its own cotangent) and the index reductions, ties
// included: PyTorch returns the first index of the extreme value.
TEST(CoreFixtures, SplitChunkArgmax) {
    check("split_size", [](const TensorList& in) { return split(in[0], 2, 1); });
    check("split_sizes", [](const TensorList& in) { return split(in[0], std::vector<int64_t>{1, 3, 1}, 2); });
    check("chunk", [](const TensorList& in) { return chunk(in[0], 3, 0); });
    check("chunk_fewer", [](const TensorList& in) { return chunk(in[0], 4, 1); });  // 3 pieces, as torch.chunk
    check("argmax_ties", unary([](const Tensor& x) { return argmax(x, 1); }));
    check("argmax_keepdim_axis0", unary([](const Tensor& x) { return argmax(x, 0, true); }));
    check("argmin_ties", unary([](const Tensor& x) { return argmin(x, 1); }));
}

}  // namespace
}  // namespace wsol
