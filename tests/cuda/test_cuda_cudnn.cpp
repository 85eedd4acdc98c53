// cuDNN wrappers (ops/cuda/cudnn.h) against direct float64 loops on the CPU (independent of the
// CPU conv/batch-norm ops): convolutions with strides, padding, dilation, groups (depthwise too),
// a ViT patch embedding and channels-last inputs, forward and both backward passes; batch norm in
// training (with the running statistics), inference and backward. float32 (exact FMA math) and
// bfloat16.
#include <cmath>

#include "cuda/cuda_testing.h"
#if WSOL_CUDA
#include "ops/cuda/cudnn.h"
#endif

namespace wsol {
namespace {

using namespace testing;

#if WSOL_CUDA

double relative_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = to(a, kCPU).to_vector<double>(), y = to(b, kCPU).to_vector<double>();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (x[i] - y[i]) * (x[i] - y[i]);
        den += y[i] * y[i];
    }
    return std::isnan(num) ? INFINITY : std::sqrt(num / std::max(den, 1e-300));
}

struct ConvReference {
    Tensor y, dx, dw;
};

// Direct cross-correlation and its two gradients for the cotangent dy, in float64.
ConvReference reference_conv(const Tensor& x_in, const Tensor& w_in, const Tensor& dy_in, const cuda::Conv2dGeometry& g) {
    const std::vector<double> x = to(x_in, kCPU).to_vector<double>(), w = to(w_in, kCPU).to_vector<double>(),
                              dy = to(dy_in, kCPU).to_vector<double>();
    const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
    const int64_t K = w_in.size(0), Cg = w_in.size(1), R = w_in.size(2), S = w_in.size(3);
    const int64_t P = dy_in.size(2), Q = dy_in.size(3), Kg = K / g.groups;
    std::vector<double> y(size_t(N * K * P * Q), 0.0), dx(x.size(), 0.0), dw(w.size(), 0.0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t p = 0; p < P; ++p)
                for (int64_t q = 0; q < Q; ++q) {
                    const size_t yi = size_t(((n * K + k) * P + p) * Q + q);
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t r = 0; r < R; ++r)
                            for (int64_t s = 0; s < S; ++s) {
                                const int64_t h = p * g.stride_h - g.pad_h + r * g.dilation_h;
                                const int64_t v = q * g.stride_w - g.pad_w + s * g.dilation_w;
                                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                                const int64_t cx = (k / Kg) * Cg + c;
                                const size_t xi = size_t(((n * C + cx) * H + h) * W + v);
                                const size_t wi = size_t(((k * Cg + c) * R + r) * S + s);
                                y[yi] += x[xi] * w[wi];
                                dx[xi] += dy[yi] * w[wi];
                                dw[wi] += dy[yi] * x[xi];
                            }
                }
    return {Tensor::from_vector(y, {N, K, P, Q}), Tensor::from_vector(dx, x_in.shape()), Tensor::from_vector(dw, w_in.shape())};
}

#endif

TEST(CudaCudnn, Convolutions) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    struct Case {
        Shape x, w;
        cuda::Conv2dGeometry g;
        bool channels_last;
        const char* what;
    };
    const Case cases[] = {
        {{2, 4, 9, 9}, {6, 4, 3, 3}, {1, 1, 1, 1, 1, 1, 1}, false, "3x3, padding 1"},
        {{2, 4, 11, 10}, {6, 2, 3, 3}, {2, 2, 0, 1, 2, 1, 2}, false, "strides, dilation, 2 groups"},
        {{2, 3, 32, 32}, {8, 3, 16, 16}, {16, 16, 0, 0, 1, 1, 1}, false, "ViT patch embedding"},
        {{2, 6, 7, 7}, {6, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 6}, false, "depthwise"},
        {{3, 5, 8, 6}, {4, 5, 1, 1}, {1, 1, 0, 0, 1, 1, 1}, true, "1x1 on a channels-last input"},
    };
    uint64_t seed = 1;
    for (const Case& c : cases) {
        for (DType dtype : {kFloat32, kBFloat16}) {
            SCOPED_TRACE(std::string(c.what) + " " + dtype_name(dtype));
            const double tol = dtype == kFloat32 ? 1e-5 : 1e-2;
            Tensor x = random_input(c.x, dtype, seed++, -1, 1, kGPU);
            if (c.channels_last) {  // same values, NHWC memory
                Tensor nhwc = contiguous(permute(x, {0, 2, 3, 1}));
                x = permute(nhwc, {0, 3, 1, 2});
            }
            Tensor w = random_input(c.w, dtype, seed++, -1, 1, kGPU);
            const Shape y_shape = cuda::conv2d_output_shape(c.x, c.w, c.g);
            Tensor dy = random_input(y_shape, dtype, seed++, -1, 1, kGPU);
            const ConvReference ref = reference_conv(x, w, dy, c.g);
            Tensor y = poisoned(y_shape, dtype), dx = poisoned(c.x, dtype), dw = poisoned(c.w, dtype);
            cuda::conv2d_forward(y, x, w, c.g);
            cuda::conv2d_backward_data(dx, dy, w, c.g);
            cuda::conv2d_backward_filter(dw, dy, x, c.g);
            EXPECT_LT(relative_error(y, ref.y), tol) << "forward";
            EXPECT_LT(relative_error(dx, ref.dx), tol) << "backward data";
            EXPECT_LT(relative_error(dw, ref.dw), tol) << "backward filter";
        }
    }
    EXPECT_WSOL_ERROR(cuda::conv2d_output_shape({1, 4, 5, 5}, {2, 3, 3, 3}, {}), "do not fit 1 groups");
    EXPECT_WSOL_ERROR(cuda::conv2d_output_shape({1, 3, 2, 2}, {2, 3, 3, 3}, {}), "gives an empty output");
    Tensor x = random_input({1, 3, 5, 5}, kFloat32, 9, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::conv2d_forward(poisoned({1, 2, 4, 4}, kFloat32), x, random_input({2, 3, 3, 3}, kFloat32, 9, -1, 1, kGPU), {}),
                      "y must have shape (1,2,3,3)");
#endif
}

#if WSOL_CUDA

struct BatchNormReference {
    Tensor y, mean, invstd, running_mean, running_var, dx, dweight, dbias;
};

BatchNormReference reference_batch_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Tensor& rm_in,
                                        const Tensor& rv_in, const Tensor& dy_in, double momentum, double eps) {
    const std::vector<double> x = to(x_in, kCPU).to_vector<double>(), w = to(w_in, kCPU).to_vector<double>(),
                              b = to(b_in, kCPU).to_vector<double>(), dy = to(dy_in, kCPU).to_vector<double>();
    std::vector<double> rm = to(rm_in, kCPU).to_vector<double>(), rv = to(rv_in, kCPU).to_vector<double>();
    const int64_t N = x_in.size(0), C = x_in.size(1), HW = x_in.numel() / (N * C);
    const double M = double(N * HW);
    const size_t channels = static_cast<size_t>(C);
    std::vector<double> y(x.size()), dx(x.size()), mean(channels), invstd(channels), dwt(channels), dbs(channels);
    auto at = [&](int64_t n, int64_t c, int64_t i) { return size_t((n * C + c) * HW + i); };
    for (int64_t c = 0; c < C; ++c) {
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) s += x[at(n, c, i)];
        const double mu = s / M;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) ss += (x[at(n, c, i)] - mu) * (x[at(n, c, i)] - mu);
        const double var = ss / M, is = 1.0 / std::sqrt(var + eps);
        mean[size_t(c)] = mu;
        invstd[size_t(c)] = is;
        rm[size_t(c)] = (1 - momentum) * rm[size_t(c)] + momentum * mu;
        rv[size_t(c)] = (1 - momentum) * rv[size_t(c)] + momentum * ss / (M - 1);  // unbiased, as PyTorch
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) {
                const double xh = (x[at(n, c, i)] - mu) * is;
                y[at(n, c, i)] = xh * w[size_t(c)] + b[size_t(c)];
                sdy += dy[at(n, c, i)];
                sdyx += dy[at(n, c, i)] * xh;
            }
        dwt[size_t(c)] = sdyx;
        dbs[size_t(c)] = sdy;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) {
                const double xh = (x[at(n, c, i)] - mu) * is;
                dx[at(n, c, i)] = w[size_t(c)] * is / M * (M * dy[at(n, c, i)] - sdy - xh * sdyx);
            }
    }
    const Shape cs{C};
    return {Tensor::from_vector(y, x_in.shape()), Tensor::from_vector(mean, cs), Tensor::from_vector(invstd, cs),
            Tensor::from_vector(rm, cs), Tensor::from_vector(rv, cs), Tensor::from_vector(dx, x_in.shape()),
            Tensor::from_vector(dwt, cs), Tensor::from_vector(dbs, cs)};
}

#endif

TEST(CudaCudnn, BatchNorm) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    uint64_t seed = 50;
    for (const Shape& shape : {Shape{4, 6, 5, 7}, Shape{32, 10}}) {
        for (DType dtype : {kFloat32, kBFloat16}) {
            SCOPED_TRACE(shape_str(shape) + " " + dtype_name(dtype));
            const double tol = dtype == kFloat32 ? 1e-5 : 1e-2;
            const int64_t C = shape[1];
            Tensor x = random_input(shape, dtype, seed++, -2, 3, kGPU);
            Tensor w = random_input({C}, kFloat32, seed++, 0.5, 1.5, kGPU), b = random_input({C}, kFloat32, seed++, -1, 1, kGPU);
            Tensor rm = random_input({C}, kFloat32, seed++, -0.1, 0.1, kGPU), rv = random_input({C}, kFloat32, seed++, 0.9, 1.1, kGPU);
            Tensor dy = random_input(shape, dtype, seed++, -1, 1, kGPU);
            const double momentum = 0.1, eps = 1e-5;
            const BatchNormReference ref = reference_batch_norm(x, w, b, rm, rv, dy, momentum, eps);
            Tensor y = poisoned(shape, dtype), mean = poisoned({C}, kFloat32), invstd = poisoned({C}, kFloat32);
            cuda::batch_norm_forward_training(y, x, w, b, rm, rv, momentum, eps, mean, invstd);
            EXPECT_LT(relative_error(y, ref.y), tol) << "y";
            EXPECT_LT(relative_error(mean, ref.mean), 1e-5) << "saved mean";
            EXPECT_LT(relative_error(invstd, ref.invstd), 1e-4) << "saved 1/std";
            EXPECT_LT(relative_error(rm, ref.running_mean), 1e-5) << "running mean";
            EXPECT_LT(relative_error(rv, ref.running_var), 1e-5) << "running var (unbiased)";
            Tensor dx = poisoned(shape, dtype), dw = poisoned({C}, kFloat32), db = poisoned({C}, kFloat32);
            cuda::batch_norm_backward(dx, dw, db, dy, x, w, mean, invstd, eps);
            EXPECT_LT(relative_error(dx, ref.dx), dtype == kFloat32 ? 1e-4 : 2e-2) << "dx";
            EXPECT_LT(relative_error(dw, ref.dweight), tol) << "dweight";
            EXPECT_LT(relative_error(db, ref.dbias), tol) << "dbias";
            // Inference with the updated running statistics.
            Tensor yi = poisoned(shape, dtype);
            cuda::batch_norm_forward_inference(yi, x, w, b, rm, rv, eps);
            const std::vector<double> xs = to(x, kCPU).to_vector<double>(), ws = to(w, kCPU).to_vector<double>(),
                                      bs = to(b, kCPU).to_vector<double>(), ms = to(rm, kCPU).to_vector<double>(),
                                      vs = to(rv, kCPU).to_vector<double>();
            std::vector<double> expected(xs.size());
            const int64_t HW = x.numel() / (shape[0] * C);
            for (size_t i = 0; i < xs.size(); ++i) {
                const size_t c = size_t((int64_t(i) / HW) % C);
                expected[i] = (xs[i] - ms[c]) / std::sqrt(vs[c] + eps) * ws[c] + bs[c];
            }
            EXPECT_LT(relative_error(yi, Tensor::from_vector(expected, shape)), tol) << "inference";
        }
    }
    Tensor x = random_input({2, 3, 4, 4}, kFloat32, 1, -1, 1, kGPU), p = random_input({3}, kFloat32, 2, -1, 1, kGPU);
    EXPECT_WSOL_ERROR(cuda::batch_norm_forward_inference(poisoned({2, 3, 4, 4}, kFloat32), x, p, p, p, p, 1e-7),
                      "below cuDNN's minimum");
    EXPECT_WSOL_ERROR(cuda::batch_norm_forward_inference(poisoned({2, 3, 4, 4}, kFloat32), x, random_input({4}, kFloat32, 3, 0, 1, kGPU), p, p, p, 1e-5),
                      "per-channel tensors must be contiguous (3) float32");
#endif
}

}  // namespace
}  // namespace wsol
