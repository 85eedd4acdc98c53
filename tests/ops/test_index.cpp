// Indexing family: PyTorch fixtures, hand-worked values (integer dtypes included), gradchecks on
// non-contiguous inputs, and the out-of-range / shape errors.
#include "support/fixtures.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::expect_matches_fixture;
using testing::gradcheck_ok;
using testing::random_leaf;
using testing::random_strided_leaf;

const TensorFile& fixtures() {
    static const TensorFile file = load_safetensors(testing::fixture_path("ops/linalg.safetensors"));
    return file;
}

Tensor ints(const std::vector<int64_t>& values, const Shape& shape) {
    return Tensor::from_vector<int64_t>(values, shape);
}

TEST(Index, MatchesPyTorch) {
    const TensorFile& f = fixtures();
    expect_matches_fixture(f, "cat", [](const TensorList& in) { return TensorList{cat(in, 1)}; });
    expect_matches_fixture(f, "stack", [](const TensorList& in) { return TensorList{stack(in, 1)}; });
    expect_matches_fixture(f, "index_select",
                           [](const TensorList& in) { return TensorList{index_select(in[0], 1, in[1])}; });
    expect_matches_fixture(f, "gather", [](const TensorList& in) { return TensorList{gather(in[0], 1, in[1])}; });
    expect_matches_fixture(f, "gather_axis0", [](const TensorList& in) { return TensorList{gather(in[0], 0, in[1])}; });
    // Sums of up to 3 float32 terms.
    expect_matches_fixture(
        f, "scatter_add", [](const TensorList& in) { return TensorList{scatter_add(in[0], 0, in[1], in[2])}; }, 1e-5,
        1e-6);
    const Tensor mask = f.at("masked_fill/mask");
    expect_matches_fixture(f, "masked_fill",
                           [&](const TensorList& in) { return TensorList{masked_fill(in[0], mask, -2.5)}; });
    expect_matches_fixture(f, "pad_constant", [](const TensorList& in) {
        return TensorList{pad(in[0], {1, 2, 0, 1}, PadMode::Constant, 0.5)};
    });
    expect_matches_fixture(f, "pad_crop", [](const TensorList& in) { return TensorList{pad(in[0], {-1, 1, 2, -1})}; });
    expect_matches_fixture(f, "pad_reflect", [](const TensorList& in) {
        return TensorList{pad(in[0], {2, 1, 1, 2}, PadMode::Reflect)};
    });
    expect_matches_fixture(f, "pad_replicate", [](const TensorList& in) {
        return TensorList{pad(in[0], {3, 0, 1, 2}, PadMode::Replicate)};
    });
    expect_matches_fixture(f, "roll", [](const TensorList& in) { return TensorList{roll(in[0], {1, -2}, {0, 2})}; });
    expect_matches_fixture(f, "roll_flat", [](const TensorList& in) { return TensorList{roll(in[0], {5})}; });
    expect_matches_fixture(f, "flip", [](const TensorList& in) { return TensorList{flip(in[0], {0, 2})}; });
    expect_matches_fixture(f, "one_hot", [](const TensorList& in) { return TensorList{one_hot(in[0], 5)}; });
}

TEST(Index, JoinAndSplit) {
    Tensor a = ints({1, 2, 3, 4}, {2, 2});
    Tensor b = ints({5, 6}, {2, 1});
    EXPECT_EQ(cat({a, b}, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 5, 3, 4, 6}));
    EXPECT_EQ(cat({a, transpose(a, 0, 1)}, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 1, 3, 2, 4}));
    Tensor s = stack({a, a}, -1);
    EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
    EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 2, 2, 3, 3, 4, 4}));
    Tensor x = ints({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {2, 5});
    TensorList parts = split(x, 2, 1);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].shape(), (Shape{2, 1}));
    EXPECT_EQ(parts[1].to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 7, 8}));
    EXPECT_TRUE(parts[0].storage() == x.storage()) << "split returns views";
    TensorList sized = split(x, std::vector<int64_t>{1, 4}, 1);
    EXPECT_EQ(sized[1].shape(), (Shape{2, 4}));
    // torch.chunk(5 elements, 3) -> sizes 2, 2, 1; torch.chunk(5, 4) -> 2, 2, 1 (only 3 pieces).
    EXPECT_EQ(chunk(x, 3, 1).size(), 3u);
    EXPECT_EQ(chunk(x, 4, 1).size(), 3u);
    EXPECT_EQ(chunk(x, 4, 1)[2].shape(), (Shape{2, 1}));
    EXPECT_EQ(chunk(Tensor::zeros({0, 2}), 3, 0).size(), 3u) << "an empty axis gives `chunks` empty pieces";
}

TEST(Index, SelectionOnIntegerData) {
    Tensor x = ints({10, 11, 12, 13, 14, 15}, {2, 3});
    EXPECT_EQ(index_select(x, 1, ints({2, 0, 2}, {3})).to_vector<int64_t>(),
              (std::vector<int64_t>{12, 10, 12, 15, 13, 15}));
    EXPECT_EQ(gather(x, 0, ints({1, 0, 1}, {1, 3})).to_vector<int64_t>(), (std::vector<int64_t>{13, 11, 15}));
    // scatter_add: y = x, y[index[0][j]][j] += src[0][j]; index (1, 2) uses only src[0][0..2).
    Tensor y = scatter_add(x, 0, ints({1, 1}, {1, 2}), ints({100, 200, 300}, {1, 3}));
    EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{10, 11, 12, 113, 214, 15}));
    // int32 indices work too, and a transposed (non-contiguous) input.
    Tensor i32 = Tensor::from_vector<int32_t>({1, 0}, {2});
    EXPECT_EQ(index_select(transpose(x, 0, 1), 1, i32).to_vector<int64_t>(),
              (std::vector<int64_t>{13, 10, 14, 11, 15, 12}));
    Tensor mask = Tensor::from_vector<bool>({true, false, true}, {3});
    EXPECT_EQ(masked_fill(x, mask, -1).to_vector<int64_t>(), (std::vector<int64_t>{-1, 11, -1, -1, 14, -1}));
    EXPECT_EQ(one_hot(ints({2, 0}, {2})).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1, 0, 0}));
}

TEST(Index, PadRollFlipByHand) {
    Tensor row = ints({1, 2, 3, 4}, {4});
    // The examples of ops/index_remap.cpp's header comment.
    EXPECT_EQ(pad(row, {2, 1}).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 2, 3, 4, 0}));
    EXPECT_EQ(pad(row, {2, 1}, PadMode::Reflect).to_vector<int64_t>(), (std::vector<int64_t>{3, 2, 1, 2, 3, 4, 3}));
    EXPECT_EQ(pad(row, {2, 1}, PadMode::Replicate).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 2, 3, 4, 4}));
    EXPECT_EQ(roll(row, {1}).to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 2, 3}));
    EXPECT_EQ(roll(row, {-5}).to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 4, 1}));
    EXPECT_EQ(flip(row, {0}).to_vector<int64_t>(), (std::vector<int64_t>{4, 3, 2, 1}));
    EXPECT_EQ(roll(row, {1, 1}, {0, 0}).to_vector<int64_t>(), (std::vector<int64_t>{3, 4, 1, 2})) << "shifts add";
}

// Sizes where the kernels split rows over threads, checked through identities that hold
// independently of the kernels: the padded interior is the input, a flip or roll undone is the
// identity, and index_select equals gather with the broadcast index. All exact (atol 1e-30
// because a zero budget reads 0/0 in all_close).
TEST(Index, LargerInputsThroughIdentities) {
    Tensor x = testing::random_tensor({4, 130, 131}, 81);
    Tensor padded = pad(x, {2, 3, 1, 4}, PadMode::Constant, 7.0);
    EXPECT_EQ(padded.shape(), (Shape{4, 135, 136}));
    EXPECT_TRUE(all_close(narrow(narrow(padded, 1, 1, 130), 2, 2, 131), x, 0, 1e-30));
    EXPECT_TRUE(all_close(narrow(padded, 1, 0, 1), full({4, 1, 136}, 7.0), 0, 1e-30));
    EXPECT_TRUE(all_close(flip(flip(x, {1, 2}), {2, 1}), x, 0, 1e-30));
    EXPECT_TRUE(all_close(roll(roll(x, {5, -7}, {1, 2}), {-5, 7}, {1, 2}), x, 0, 1e-30));
    Tensor reflected = pad(x, {3, 3, 3, 3}, PadMode::Reflect);
    // Reflect: padded column 0 mirrors input column 3 (the edge column 0 is not repeated).
    EXPECT_TRUE(all_close(narrow(narrow(reflected, 1, 3, 130), 2, 0, 1), narrow(x, 2, 3, 1), 0, 1e-30));
    Tensor idx = ints({129, 0, 64, 64, 3}, {5});
    Tensor wide = contiguous(expand(reshape(idx, {1, 5, 1}), {4, 5, 131}));
    EXPECT_TRUE(all_close(index_select(x, 1, idx), gather(x, 1, wide), 0, 1e-30));
}

TEST(IndexGrad, AllDifferentiableOps) {
    auto check = [](const char* name, std::function<Tensor(const TensorList&)> op, const TensorList& inputs) {
        SCOPED_TRACE(name);
        EXPECT_TRUE(gradcheck_ok([&](const TensorList& in) { return TensorList{op(in)}; }, inputs));
    };
    Tensor idx = ints({2, 0, 2, 1}, {4});
    Tensor gidx = ints({1, 1, 0, 2, 0, 0}, {2, 3});
    check("cat", [](const TensorList& in) { return cat(in, 1); },
          {random_leaf({3, 2}, 1), random_strided_leaf({3, 4}, 2), random_leaf({3, 1}, 3)});
    check("stack", [](const TensorList& in) { return stack(in, 2); },
          {random_leaf({2, 3}, 4), random_strided_leaf({2, 3}, 5)});
    check("split", [](const TensorList& in) { return mul(split(in[0], 2, 1)[1], split(in[0], 2, 1)[2]); },
          {random_leaf({2, 5}, 6)});
    check("chunk", [](const TensorList& in) { return chunk(in[0], 2, 0)[1]; }, {random_strided_leaf({3, 2}, 7)});
    check("index_select", [&](const TensorList& in) { return index_select(in[0], 0, idx); },
          {random_strided_leaf({3, 4}, 8)});
    check("gather", [&](const TensorList& in) { return gather(in[0], 0, gidx); }, {random_strided_leaf({3, 4}, 9)});
    check("gather_axis1", [&](const TensorList& in) { return gather(in[0], 1, gidx); }, {random_leaf({2, 4}, 10)});
    check("scatter_add", [&](const TensorList& in) { return scatter_add(in[0], 0, gidx, in[1]); },
          {random_strided_leaf({3, 4}, 11), random_leaf({2, 5}, 12)});
    Tensor mask = Tensor::from_vector<bool>({false, true, true, false}, {4});
    check("masked_fill", [&](const TensorList& in) { return masked_fill(in[0], mask, 3.0); },
          {random_strided_leaf({3, 4}, 13)});
    check("pad_constant",
          [](const TensorList& in) {
              return pad(in[0], {1, 2, -1, 1}, PadMode::Constant, 0.5);
          },
          {random_strided_leaf({2, 3, 4}, 14)});
    check("pad_reflect",
          [](const TensorList& in) {
              return pad(in[0], {3, 2, 2, 1}, PadMode::Reflect);
          },
          {random_strided_leaf({2, 3, 4}, 15)});
    check("pad_replicate",
          [](const TensorList& in) {
              return pad(in[0], {2, 3, 0, 2, 1, 0}, PadMode::Replicate);
          },
          {random_leaf({2, 3, 4}, 16)});
    check("roll", [](const TensorList& in) { return roll(in[0], {2, -1}, {1, 0}); }, {random_strided_leaf({3, 4}, 17)});
    check("roll_flat", [](const TensorList& in) { return roll(in[0], {3}); }, {random_strided_leaf({3, 4}, 18)});
    check("flip", [](const TensorList& in) { return flip(in[0], {0, -1}); }, {random_strided_leaf({3, 2, 4}, 19)});
}

TEST(Index, Errors) {
    Tensor x = Tensor::zeros({3, 5});
    EXPECT_WSOL_ERROR(
        index_select(x, 1, ints({0, 7}, {2})),
        "index_select: index 7 at position (1) is out of range for axis 1 of size 5 (valid range [0, 4])");
    EXPECT_WSOL_ERROR(index_select(x, 0, ints({-1}, {1})),
                      "index -1 at position (0) is out of range for axis 0 of size 3");
    EXPECT_WSOL_ERROR(index_select(x, 0, Tensor::zeros({1})), "index tensor must be int64 or int32, got float32");
    EXPECT_WSOL_ERROR(gather(x, 1, ints({0, 1, 2, 3, 4, 5}, {2, 3})),
                      "gather: index 5 at position (1,2) is out of range for axis 1 of size 5 (valid range [0, 4])");
    EXPECT_WSOL_ERROR(gather(x, 1, ints({0}, {1})), "gather: index (1) and input (3,5) must have the same number");
    EXPECT_WSOL_ERROR(gather(x, 1, ints({0, 0, 0, 0}, {4, 1})),
                      "gather: index (4,1) is larger than input (3,5) along axis 0");
    EXPECT_WSOL_ERROR(scatter_add(x, 0, ints({3}, {1, 1}), Tensor::zeros({1, 1})),
                      "scatter_add: index 3 at position (0,0) is out of range for axis 0 of size 3");
    EXPECT_WSOL_ERROR(scatter_add(x, 0, ints({0, 0}, {1, 2}), Tensor::zeros({1, 1})),
                      "must be no larger than src (1,1)");
    EXPECT_WSOL_ERROR(one_hot(ints({0, 5}, {2}), 5), "one_hot: index 5 at position (1) is out of range for 5 classes");
    EXPECT_WSOL_ERROR(one_hot(ints({}, {0})), "cannot infer the number of classes from an empty index");
    EXPECT_WSOL_ERROR(
        cat({x, Tensor::zeros({2, 4})}, 1),
        "cat: tensor 1 has shape (2,4) but tensor 0 has shape (3,5); sizes must match except along axis 1");
    EXPECT_WSOL_ERROR(cat({x, Tensor::zeros({3, 5}, kFloat64)}), "cat: tensor 1 is float64 but tensor 0 is float32");
    EXPECT_WSOL_ERROR(cat({}), "cat: expected a non-empty list");
    EXPECT_WSOL_ERROR(stack({x, Tensor::zeros({3, 4})}),
                      "stack: tensor 1 has shape (3,4) but tensor 0 has shape (3,5)");
    EXPECT_WSOL_ERROR(split(x, std::vector<int64_t>{2, 2}, 1),
                      "split: sizes (2,2) sum to 4 but axis 1 of (3,5) has size 5");
    EXPECT_WSOL_ERROR(split(x, 0, 1), "split: split size must be positive");
    EXPECT_WSOL_ERROR(chunk(x, 0), "chunk: number of chunks must be positive");
    EXPECT_WSOL_ERROR(masked_fill(x, Tensor::zeros({5}), 1.0), "masked_fill: mask must be bool, got float32");
    EXPECT_WSOL_ERROR(masked_fill(x, Tensor::from_vector<bool>({true, false}, {2}), 1.0),
                      "masked_fill: shapes (3,5) and (2)");
    EXPECT_WSOL_ERROR(pad(x, {1}), "pad: padding must come in (before, after) pairs");
    EXPECT_WSOL_ERROR(pad(x, {1, 1, 1, 1, 1, 1}), "pad: 6 padding values for a 2-D input (3,5) (at most 4)");
    EXPECT_WSOL_ERROR(
        pad(x, {0, 0, 3, 0}, PadMode::Reflect),
        "pad: reflect padding (3, 0) of axis 0 of size 3: reflect padding must be smaller than the axis size");
    EXPECT_WSOL_ERROR(pad(x, {-6, 0}), "pad: constant padding (-6, 0) of axis 1 of size 5 would leave a negative size");
    EXPECT_WSOL_ERROR(pad(x, {1, 1}, PadMode::Replicate, 2.0), "pad: a fill value is only used by constant padding");
    EXPECT_WSOL_ERROR(roll(x, {1, 2}), "roll: without axes, expected exactly one shift, got 2");
    EXPECT_WSOL_ERROR(roll(x, {1}, {0, 1}), "roll: 1 shifts for 2 axes");
    EXPECT_WSOL_ERROR(flip(x, {0, -2}), "flip: axis 0 is listed twice");
    EXPECT_WSOL_ERROR(flip(x, {2}), "flip: axis 2 is out of range");
}

}  // namespace
}  // namespace wsol
