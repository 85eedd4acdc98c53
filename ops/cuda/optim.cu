// Fused AdamW on the GPU (ops/cuda/optim.h): one pass that reads g, m, v, p and writes m, v, p,
// each thread one element, with the CPU kernel's order of operations (ops/cpu/optim.cpp, itself
// PyTorch's): the first moment as a lerp towards g, the denominator sqrt(v) / sqrt(1 - b2^t) + eps.
// The scalar parts are computed once on the host in double and rounded to the parameter's dtype.
// Rounding can differ from the CPU in the last bit where nvcc fuses a multiply and an add.
#include "ops/cuda/optim.h"

#include <cmath>

#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

template <class T>
struct AdamWScalars {
    T decay, step_size, sqrt_bias2, b2, one_b2, eps, w;
};

template <class T>
__global__ void adamw_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v, int64_t n,
                             AdamWScalars<T> s) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const T gi = g[i];
        const T mi = s.w < T(0.5) ? m[i] + s.w * (gi - m[i]) : gi - (gi - m[i]) * (T(1) - s.w);
        const T vi = v[i] * s.b2 + gi * gi * s.one_b2;
        m[i] = mi;
        v[i] = vi;
        const T pi = p[i] * s.decay;
        p[i] = pi + (-s.step_size) * (mi / (sqrt_acc(vi) / s.sqrt_bias2 + s.eps));
    }
}

template <class T>
void run(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamWHyper& h) {
    const double bias1 = 1.0 - std::pow(h.beta1, double(h.step));
    const double bias2 = 1.0 - std::pow(h.beta2, double(h.step));
    const AdamWScalars<T> s{T(1.0 - h.lr * h.weight_decay), T(h.lr / bias1), T(std::sqrt(bias2)), T(h.beta2),
                            T(1.0 - h.beta2), T(h.eps), T(1.0 - h.beta1)};
    const int64_t n = param.numel();
    if (n == 0) return;
    cudaStream_t stream = prepare(param);
    adamw_kernel<T><<<grid_size(n, 256, param.device().index), 256, 0, stream>>>(
        ptr<T>(param), ptr<T>(grad), ptr<T>(exp_avg), ptr<T>(exp_avg_sq), n, s);
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace

void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamWHyper& hyper) {
    switch (param.dtype()) {
        case kFloat32: return run<float>(param, grad, exp_avg, exp_avg_sq, hyper);
        case kFloat64: return run<double>(param, grad, exp_avg, exp_avg_sq, hyper);
        default:
            WSOL_FAIL("adamw_update_ on CUDA: dtype ", dtype_name(param.dtype()),
                      " is not supported (float32 and float64 are; keep float32 master weights under autocast)");
    }
}

}  // namespace wsol::cuda
