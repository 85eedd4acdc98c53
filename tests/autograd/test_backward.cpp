#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

TEST(Autograd, ChainRuleThroughReuse) {
    // micrograd's example: b = a + a; c = b * b  =>  dc/da = 2 b * 2 = 8 a.
    Tensor a = Tensor::from_vector<double>({1.5, -2.0}, {2}).set_requires_grad(true);
    Tensor b = a + a;
    Tensor c = sum(b * b);
    backward(c);
    EXPECT_TRUE(all_close(a.grad(), Tensor::from_vector<double>({12.0, -16.0}, {2})));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
    Tensor w = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad(true);
    backward(sum(w * 3.0));
    backward(sum(w * 4.0));
    EXPECT_DOUBLE_EQ(w.grad().item<double>(), 7.0);
}

TEST(Autograd, SecondBackwardThroughFreedGraphIsAnError) {
    Tensor w = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad(true);
    Tensor loss = sum(exp(w));
    backward(loss);
    EXPECT_WSOL_ERROR(backward(loss), "backward through the graph a second time");
    Tensor loss2 = sum(exp(w));
    backward(loss2, Tensor(), /*retain_graph=*/true);
    backward(loss2);  // allowed once more
}

TEST(Autograd, NoGradAndDetachStopRecording) {
    Tensor w = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad(true);
    {
        NoGradGuard guard;
        Tensor y = w * 2.0;
        EXPECT_FALSE(y.requires_grad());
    }
    Tensor d = (w * 2.0).detach();
    EXPECT_FALSE(d.requires_grad());
    EXPECT_TRUE((w * 2.0).requires_grad());
    EXPECT_WSOL_ERROR(backward(d), "does not require grad");
}

TEST(Autograd, NonScalarRootNeedsGradient) {
    Tensor w = Tensor::from_vector<double>({1.0, 2.0}, {2}).set_requires_grad(true);
    Tensor y = w * w;
    EXPECT_WSOL_ERROR(backward(y), "needs a single-element (scalar) root");
    backward(y, Tensor::from_vector<double>({1.0, 10.0}, {2}));
    EXPECT_TRUE(all_close(w.grad(), Tensor::from_vector<double>({2.0, 40.0}, {2})));
}

TEST(Autograd, RequiresGradRules) {
    Tensor i = Tensor::from_vector<int64_t>({1}, {1});
    EXPECT_WSOL_ERROR(i.set_requires_grad(true), "only floating-point tensors");
    Tensor w = Tensor::from_vector<float>({1}, {1}).set_requires_grad(true);
    Tensor y = w * 2.0;
    EXPECT_FALSE(y.is_leaf());
    EXPECT_WSOL_ERROR(y.set_requires_grad(false), "non-leaf");
    EXPECT_WSOL_ERROR(fill_(w, 0.0), "in-place update of a tensor that requires grad");
    NoGradGuard guard;
    fill_(w, 5.0);  // allowed outside recording (optimizer updates)
    EXPECT_EQ(w.item<float>(), 5.0f);
}

TEST(Autograd, GradOfReturnsWithoutTouchingDotGrad) {
    Tensor x = Tensor::from_vector<double>({3.0}, {1}).set_requires_grad(true);
    Tensor unused = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad(true);
    TensorList g = grad(sum(x * x * x), {x, unused});
    EXPECT_DOUBLE_EQ(g[0].item<double>(), 27.0);
    EXPECT_FALSE(g[1].defined());
    EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, LeafGradIsOwnedNotAliased) {
    // add passes one gradient buffer to both inputs; each leaf must get its own copy so that an
    // in-place change to one (gradient clipping) does not change the other.
    Tensor a = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad(true);
    Tensor b = Tensor::from_vector<double>({2.0}, {1}).set_requires_grad(true);
    backward(sum(a + b));
    EXPECT_NE(a.grad().storage(), b.grad().storage());
}

TEST(Autograd, DeepGraphDoesNotOverflowTheStack) {
    Tensor x = Tensor::from_vector<double>({1.0}, {1}).set_requires_grad(true);
    Tensor y = x;
    for (int i = 0; i < 20000; ++i) y = y + 1e-3;
    backward(sum(y));
    EXPECT_DOUBLE_EQ(x.grad().item<double>(), 1.0);
}

TEST(Gradcheck, CatchesAWrongBackward) {
    // A deliberately wrong op: forward x^2, backward claims 3x.
    auto wrong_square = [](const TensorList& in) {
        Tensor y;
        {
            NoGradGuard g;
            y = in[0] * in[0];
        }
        if (any_requires_grad({in[0]})) {
            record_op("wrong", {in[0]}, {y}, [x = in[0].detach()](const TensorList& g, const GradMask&) {
                return TensorList{g[0] * x * 3.0};
            });
        }
        return TensorList{y};
    };
    GradcheckResult r = gradcheck(wrong_square, {testing::random_leaf({3}, 1)});
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.message.find("analytical"), std::string::npos);
}

}  // namespace
}  // namespace wsol
