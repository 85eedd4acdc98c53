// sort / argsort / topk: PyTorch fixtures (including NaN placement and stability on integer
// ties), hand-worked cases, dtypes, layouts, and argument errors. These ops have no gradient.
#include <cmath>

#include "math_helpers.h"

namespace wsol {
namespace {

using testing::all_close;
using testing::expect_matches_fixture;
using testing::math_fixtures;
using testing::non_contiguous;

TensorList as_list(const ValuesIndices& vi) { return TensorList{vi.values, vi.indices}; }

TEST(Sort, MatchesPyTorch) {
    const TensorFile& f = math_fixtures();
    expect_matches_fixture(f, "sort_ascending", [](const TensorList& in) { return as_list(sort(in[0], -1)); });
    expect_matches_fixture(f, "sort_ascending", [](const TensorList& in) {
        return as_list(sort(non_contiguous(in[0]), 1));
    });
    expect_matches_fixture(f, "sort_descending_axis0", [](const TensorList& in) { return as_list(sort(in[0], 0, true)); });
    expect_matches_fixture(f, "sort_nan", [](const TensorList& in) { return as_list(sort(in[0])); });
    expect_matches_fixture(f, "sort_nan_descending", [](const TensorList& in) { return as_list(sort(in[0], -1, true)); });
    expect_matches_fixture(f, "sort_int_stable", [](const TensorList& in) { return as_list(sort(in[0])); });
    expect_matches_fixture(f, "sort_int_stable_descending", [](const TensorList& in) {
        return as_list(sort(in[0], 1, true));
    });
    expect_matches_fixture(f, "topk_largest", [](const TensorList& in) { return as_list(topk(in[0], 3)); });
    expect_matches_fixture(f, "topk_smallest_axis0", [](const TensorList& in) {
        return as_list(topk(in[0], 2, 0, false));
    });
    expect_matches_fixture(f, "topk_mid_axis", [](const TensorList& in) { return as_list(topk(in[0], 4, 1)); });
    expect_matches_fixture(f, "topk_mid_axis", [](const TensorList& in) {
        return as_list(topk(non_contiguous(in[0]), 4, 1));
    });
}

TEST(Sort, HandWorkedCases) {
    // Stable on ties in both directions; NaN is the largest value.
    Tensor x = Tensor::from_vector<float>({2, NAN, 1, 2, 0}, {5});
    ValuesIndices up = sort(x);
    EXPECT_EQ(up.indices.to_vector<int64_t>(), (std::vector<int64_t>{4, 2, 0, 3, 1}));
    EXPECT_TRUE(std::isnan(up.values.to_vector<float>()[4]));
    EXPECT_EQ(sort(x, 0, true).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 3, 2, 4}));
    EXPECT_EQ(argsort(x, 0, true).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 3, 2, 4}));
    // topk: NaN first for largest; ties go to the lower index; unsorted keeps axis order.
    EXPECT_EQ(topk(x, 2).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
    EXPECT_EQ(topk(x, 3).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 3}));
    EXPECT_EQ(topk(x, 2, 0, false).indices.to_vector<int64_t>(), (std::vector<int64_t>{4, 2}));
    EXPECT_EQ(topk(x, 3, 0, false, false).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 4}));
    EXPECT_EQ(topk(x, 0).values.shape(), Shape{0});
    EXPECT_EQ(topk(x, 5).indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 3, 2, 4}));
}

TEST(Sort, IntegerDtypesAndNoGradient) {
    Tensor u = Tensor::from_vector<uint8_t>({3, 250, 0, 7}, {2, 2});
    EXPECT_EQ(sort(u, 1).values.to_vector<uint8_t>(), (std::vector<uint8_t>{3, 250, 0, 7}));
    EXPECT_EQ(sort(u, 0, true).values.to_vector<uint8_t>(), (std::vector<uint8_t>{3, 250, 0, 7}));
    EXPECT_EQ(sort(u, 0).values.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 7, 3, 250}));
    Tensor i = Tensor::from_vector<int32_t>({-5, 9, 2}, {3});
    EXPECT_EQ(topk(i, 1).values.to_vector<int32_t>(), (std::vector<int32_t>{9}));
    Tensor d = Tensor::from_vector<double>({0.5, -1.5}, {2}).set_requires_grad(true);
    ValuesIndices s = sort(d);
    EXPECT_FALSE(s.values.requires_grad());
    EXPECT_EQ(s.values.to_vector<double>(), (std::vector<double>{-1.5, 0.5}));
    // Many lines, enough to run in parallel, each checked against std::sort.
    Tensor big = testing::random_tensor({300, 257}, 3);
    std::vector<float> v = big.to_vector<float>(), got = sort(big, 1, true).values.to_vector<float>();
    for (int64_t r = 0; r < 300; ++r) {
        std::sort(v.begin() + r * 257, v.begin() + (r + 1) * 257, std::greater<float>());
    }
    EXPECT_EQ(got, v);
}

TEST(Sort, Errors) {
    Tensor x = Tensor::zeros({2, 3});
    EXPECT_WSOL_ERROR(sort(x, 2), "sort: axis 2 is out of range");
    EXPECT_WSOL_ERROR(topk(x, 4), "topk: k = 4 is out of range for axis 1 of size 3 in a tensor of shape (2,3)");
    EXPECT_WSOL_ERROR(topk(x, -1, 0), "topk: k = -1 is out of range for axis 0 of size 2");
    EXPECT_WSOL_ERROR(sort(Tensor::zeros({2}, kBool)), "sort: dtype bool is not supported");
    EXPECT_WSOL_ERROR(topk(Tensor::zeros({2}, kBFloat16), 1), "topk: dtype bfloat16 is not supported");
}

}  // namespace
}  // namespace wsol
