// The float32 GELU kernels (ops/cpu/gelu_math.h: branch-free formulas, vectorised for contiguous
// runs) against float64 oracles built on the C library, forward and backward, exact (erf) and
// tanh forms. Inputs: every 1e-4 in [-10, 10] (a superset of the 1e-3 grid; 200001 values, so the
// loop is also split across OpenMP threads), plus extremes, denormals, signed zeros, infinities
// and NaN. Each kernel runs twice: on a contiguous tensor (the vectorised *_run loop, here the
// widest clone this CPU supports, which uses FMA where it has it) and on a strided view (the scalar
// path, compiled for baseline x86-64 without FMA, the same arithmetic as the SSE2 clone).
//
// What is asserted, for every finite input:
//   - absolute error below 1e-6, forward and gradient;
//   - where |gelu(x)| >= 1, relative error below 2.5e-7 (two float32 ulps at most);
//   - in the negative tail, x in [-10, -2], where the outputs range down to 1e-23 and an absolute
//     bound says nothing: relative error below 5e-6 (erf form) and 3e-5 (tanh form). The tails are
//     exp(-a^2/2) and exp(-2u), and rounding a^2 or u to float costs about (a^2/2) eps and 2|u| eps
//     relative (eps = 6e-8): 2e-6 at x = -9 for erf, 1.2e-5 for tanh, whose exponent is larger.
//     Values within a few powers of two of FLT_MIN (1.2e-38) are flushed to zero (e.g. the tanh
//     form at x = -10, -1.2e-37), so the tail check stops at |gelu(x)| = 1e-30;
//   - special values exactly: gelu(+inf) = +inf, gelu(-inf) = 0, gradients 1 and 0, NaN -> NaN.
// The measured maxima are printed; ops/cpu/gelu_math.h quotes them.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "math_helpers.h"
#include "ops/cpu/elementwise.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::non_contiguous;

constexpr double kInvSqrt2Pi = 0.398942280401432677940;  // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.797884560802865355880; // sqrt(2/pi)

// Oracles in float64, written for accuracy in both tails: erfc rather than 1 + erf, and the
// logistic form of 0.5 (1 + tanh u) = 1 / (1 + exp(-2u)), whose complement is 1 / (1 + exp(2u)).
double gelu_erf_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_erf_grad_ref(double x) {
    return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
}
double tanh_u(double x) { return kSqrt2OverPi * (x + 0.044715 * x * x * x); }
double gelu_tanh_ref(double x) { return x / (1.0 + std::exp(-2.0 * tanh_u(x))); }
double gelu_tanh_grad_ref(double x) {
    const double s = 1.0 / (1.0 + std::exp(-2.0 * tanh_u(x)));       // sigma(2u)
    const double s_minus = 1.0 / (1.0 + std::exp(2.0 * tanh_u(x)));  // 1 - sigma(2u)
    const double du = kSqrt2OverPi * (1.0 + 3.0 * 0.044715 * x * x);
    return s + 2.0 * x * du * s * s_minus;
}

struct Form {
    const char* name;
    UnaryOp op;
    double (*forward)(double);
    double (*gradient)(double);
    double tail_rtol;  // bound on the relative error in the negative tail (see the file comment)
};
const Form kErf{"erf", UnaryOp::Gelu, gelu_erf_ref, gelu_erf_grad_ref, 5e-6};
const Form kTanh{"tanh", UnaryOp::GeluTanh, gelu_tanh_ref, gelu_tanh_grad_ref, 3e-5};

// The dense sweep and the finite extremes.
std::vector<float> sweep() {
    std::vector<float> x;
    for (int i = -100000; i <= 100000; ++i) x.push_back(float(i * 1e-4));
    const float extremes[] = {FLT_TRUE_MIN, 1e-40f, FLT_MIN, 1e-30f, 1e-10f, 1e-5f, 0.7518f, 13.2f, 13.5f,
                              14.0f,        19.99f, 20.0f,   20.01f, 50.0f,  1e10f, 1e30f,  FLT_MAX};
    for (float e : extremes) {
        x.push_back(e);
        x.push_back(-e);
    }
    return x;
}

// gelu (or gelu' when `gradient`) of xs through the CPU kernels, on a contiguous or a strided input.
std::vector<float> run_kernel(const Form& form, const std::vector<float>& xs, bool gradient, bool strided) {
    const int64_t n = int64_t(xs.size());
    Tensor x = Tensor::from_vector<float>(xs, {n});
    if (strided) x = non_contiguous(x);
    Tensor out = Tensor::empty({n});
    if (gradient) {
        Tensor ones = Tensor::from_vector<float>(std::vector<float>(xs.size(), 1.0f), {n});
        cpu::unary_grad(form.op, out, ones, x, Tensor());
    } else {
        cpu::unary(form.op, out, x);
    }
    return out.to_vector<float>();
}

struct Errors {
    double abs = 0, rel_large = 0, rel_tail = 0;  // maxima, see the file comment
    float worst_abs_x = 0, worst_rel_x = 0, worst_tail_x = 0;
};

Errors measure(const std::vector<float>& xs, const std::vector<float>& ys, double (*ref)(double)) {
    Errors e;
    for (size_t i = 0; i < xs.size(); ++i) {
        const double x = xs[i], expected = ref(x), err = std::fabs(double(ys[i]) - expected);
        const double rel = err / std::fabs(expected);
        if (!(err <= e.abs)) {  // !(<=) also records a NaN
            e.abs = err;
            e.worst_abs_x = xs[i];
        }
        if (std::fabs(expected) >= 1.0 && !(rel <= e.rel_large)) {
            e.rel_large = rel;
            e.worst_rel_x = xs[i];
        }
        if (x >= -10.0 && x <= -2.0 && std::fabs(expected) >= 1e-30 && !(rel <= e.rel_tail)) {
            e.rel_tail = rel;
            e.worst_tail_x = xs[i];
        }
    }
    return e;
}

void check_form(const Form& form) {
    const std::vector<float> xs = sweep();
    for (bool gradient : {false, true}) {
        for (bool strided : {false, true}) {
            const Errors e = measure(xs, run_kernel(form, xs, gradient, strided), gradient ? form.gradient : form.forward);
            const std::string what = std::string("gelu ") + form.name + (gradient ? " gradient" : " forward") +
                                     (strided ? ", strided (scalar) path" : ", contiguous (vector) path");
            std::printf("[ measured ] %-48s max abs %.2e (x=%g)  rel |y|>=1 %.2e (x=%g)  rel tail %.2e (x=%g)\n",
                        what.c_str(), e.abs, double(e.worst_abs_x), e.rel_large, double(e.worst_rel_x), e.rel_tail,
                        double(e.worst_tail_x));
            SCOPED_TRACE(what);
            EXPECT_LT(e.abs, 1e-6) << "at x = " << e.worst_abs_x;
            EXPECT_LT(e.rel_large, 2.5e-7) << "at x = " << e.worst_rel_x;
            EXPECT_LT(e.rel_tail, form.tail_rtol) << "at x = " << e.worst_tail_x;
        }
    }
}

TEST(GeluFloat32, ErfFormMatchesFloat64Oracle) { check_form(kErf); }
TEST(GeluFloat32, TanhFormMatchesFloat64Oracle) { check_form(kTanh); }

TEST(GeluFloat32, SpecialValues) {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> xs = {inf, -inf, nan, -nan, 0.0f, -0.0f, FLT_MAX, -FLT_MAX, FLT_TRUE_MIN, -FLT_TRUE_MIN};
    for (const Form* form : {&kErf, &kTanh}) {
        for (bool strided : {false, true}) {
            SCOPED_TRACE(std::string(form->name) + (strided ? ", strided" : ", contiguous"));
            const std::vector<float> y = run_kernel(*form, xs, false, strided);
            const std::vector<float> g = run_kernel(*form, xs, true, strided);
            EXPECT_EQ(y[0], inf);
            EXPECT_EQ(y[1], 0.0f);  // -0 compares equal
            EXPECT_TRUE(std::isnan(y[2]) && std::isnan(y[3]));
            EXPECT_EQ(y[4], 0.0f);
            EXPECT_EQ(y[5], 0.0f);
            EXPECT_TRUE(std::signbit(y[5])) << "gelu(-0) = -0";
            EXPECT_EQ(y[6], FLT_MAX);
            EXPECT_EQ(y[7], 0.0f);
            EXPECT_LE(std::fabs(y[8] - 0.5 * FLT_TRUE_MIN), 0.5 * FLT_TRUE_MIN);  // x/2, rounded
            EXPECT_LE(std::fabs(y[9] + 0.5 * FLT_TRUE_MIN), 0.5 * FLT_TRUE_MIN);
            EXPECT_EQ(g[0], 1.0f);
            EXPECT_EQ(g[1], 0.0f);
            EXPECT_TRUE(std::isnan(g[2]) && std::isnan(g[3]));
            for (int i : {4, 5, 8, 9}) EXPECT_NEAR(g[size_t(i)], 0.5f, 6e-8) << "gelu'(0) = 1/2, x = " << xs[size_t(i)];
            EXPECT_EQ(g[6], 1.0f);
            EXPECT_EQ(g[7], 0.0f);
        }
    }
}

// The public op and autograd on float32, contiguous and not: the backward pass multiplies the
// incoming gradient by gelu'(x) (here a random one, so the kernel's grad_y operand is exercised).
TEST(GeluFloat32, AutogradMatchesOracle) {
    for (const Form* form : {&kErf, &kTanh}) {
        for (bool strided : {false, true}) {
            SCOPED_TRACE(std::string(form->name) + (strided ? ", strided" : ", contiguous"));
            Tensor x = testing::random_tensor({64, 48}, 3, -6.0, 6.0);
            Tensor g = testing::random_tensor({64, 48}, 4, -2.0, 2.0);
            x.set_requires_grad(true);
            Tensor input = strided ? non_contiguous(x) : x;
            Tensor y = gelu(input, form->op == UnaryOp::Gelu ? GeluApproximation::None : GeluApproximation::Tanh);
            backward(sum(mul(y, g)));
            const std::vector<float> xv = x.to_vector<float>(), gv = g.to_vector<float>();
            const std::vector<float> yv = y.to_vector<float>(), dx = x.grad().to_vector<float>();
            double worst_y = 0, worst_dx = 0;
            for (size_t i = 0; i < xv.size(); ++i) {
                worst_y = std::max(worst_y, std::fabs(yv[i] - form->forward(xv[i])));
                worst_dx = std::max(worst_dx, std::fabs(dx[i] - gv[i] * form->gradient(xv[i])));
            }
            EXPECT_LT(worst_y, 1e-6);
            EXPECT_LT(worst_dx, 2e-6);  // |g| <= 2
        }
    }
}

}  // namespace
}  // namespace wsol
