// bf16 autocast on the CPU (ops/autocast.h): the scope is inert there - every op autocast touches
// (lower-precision, float32 and promoting ones) returns the same dtype and the same bits inside and
// outside the scope, and mixed dtypes stay an error - and the scope never reaches into a backward
// pass. The CUDA side (the casts themselves) is tested in tests/cuda.
#include "support/testing.h"

namespace wsol {
namespace {

using testing::random_leaf;

// Bitwise equality of two float tensors.
::testing::AssertionResult same_values(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype()) return ::testing::AssertionFailure() << "dtypes differ";
    const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
    for (size_t i = 0; i < x.size(); ++i) {
        if (!(x[i] == y[i]) && !(x[i] != x[i] && y[i] != y[i])) return ::testing::AssertionFailure() << "element " << i;
    }
    return ::testing::AssertionSuccess();
}

TEST(Autocast, InertOnTheCpu) {
    Tensor x = random_leaf({2, 3, 8, 8}, 1, -1, 1, kFloat32);
    Tensor w = random_leaf({4, 3, 3, 3}, 2, -1, 1, kFloat32);
    Tensor lw = random_leaf({5, 8}, 3, -1, 1, kFloat32), lb = random_leaf({5}, 4, -1, 1, kFloat32);
    Tensor labels = Tensor::from_vector<int64_t>({1, 0}, {2});
    // One expression over every kind of op autocast changes on the GPU.
    auto run = [&] {
        Tensor h = conv2d(x, w, Tensor(), {1, 1}, {1, 1});                  // lower precision
        Tensor t = linear(h, lw, lb);                                        // lower precision
        Tensor n = layer_norm(softmax(t, -1), {5});                          // float32 ops
        Tensor m = add(matmul(n, transpose(n, -2, -1)), sum(cat({n, n}, 2)));  // promoting, sum
        return cross_entropy(reshape(mean(m, {1, 2}), {2, 8}), labels);    // loss
    };
    Tensor plain = run();
    backward(plain);
    const Tensor gw = w.grad(), glw = lw.grad();
    w.set_grad(Tensor());
    lw.set_grad(Tensor());
    Tensor scoped;
    {
        AutocastGuard autocast;
        EXPECT_TRUE(autocast_enabled());
        scoped = run();
        backward(scoped);  // inside the scope: still float32 on the CPU
    }
    EXPECT_FALSE(autocast_enabled());
    EXPECT_EQ(scoped.dtype(), kFloat32);
    EXPECT_TRUE(same_values(scoped, plain));
    EXPECT_TRUE(same_values(w.grad(), gw));
    EXPECT_TRUE(same_values(lw.grad(), glw));
    // Mixed dtypes are not promoted on the CPU.
    AutocastGuard autocast;
    EXPECT_WSOL_ERROR(add(Tensor::zeros({2}), Tensor::zeros({2}, kBFloat16)), "dtypes float32 and bfloat16 differ");
    EXPECT_WSOL_ERROR(cat({Tensor::zeros({2}), Tensor::zeros({2}, kBFloat16)}), "is bfloat16 but tensor 0 is float32");
}

TEST(Autocast, NeverActiveInsideABackwardPass) {
    Tensor x = random_leaf({3}, 5);
    bool active_in_backward = true, flag_in_backward = false;
    Tensor y;
    {
        AutocastGuard autocast;
        EXPECT_TRUE(autocast_active());
        y = mul(x, 2.0);
        // A recorded op whose backward reports the autocast state it runs under.
        Tensor z = clone(y.detach());
        record_op("probe", {y}, {z}, [&](const TensorList& g, const GradMask&) {
            active_in_backward = autocast_active();
            flag_in_backward = autocast_enabled();
            return TensorList{g[0]};
        });
        backward(sum(z));
        EXPECT_TRUE(autocast_active());  // restored after the pass
    }
    EXPECT_FALSE(active_in_backward);
    EXPECT_TRUE(flag_in_backward);  // the flag itself is untouched; the pass just ignores it
    EXPECT_FALSE(backward_running());
    {
        AutocastGuard off(false);
        EXPECT_FALSE(autocast_active());
    }
}

}  // namespace
}  // namespace wsol
