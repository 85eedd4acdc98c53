// Philox random fills on the GPU: element i is computed from (seed, offset, i) exactly as in
// ops/cpu/random.cpp, by one thread. nvcc contracts a * b + c into one fused multiply-add (one
// rounding instead of two), which would make the GPU's numbers differ from the CPU's in the last
// bit now and then; every multiply and add of the double-precision formulas below therefore goes
// through the explicitly rounded intrinsics (__dmul_rn, __dadd_rn), which are never contracted.
#include "ops/cuda/random.h"

#include <math_constants.h>

#include "engine/cuda/loops.cuh"
#include "engine/philox.h"

namespace wsol::cuda {

namespace {

__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }

// The inverse error function, the same algorithm as wsol::erfinv (ops/random.cpp): Giles'
// single-precision initial guess, then three Newton steps on erf(x) - y in double precision.
__device__ double erfinv(double y) {
    if (y == 1.0) return CUDART_INF;
    if (y == -1.0) return -CUDART_INF;
    const double w = -::log(mul(add(1.0, -y), add(1.0, y)));
    double x;
    if (w < 5.0) {
        const double t = add(w, -2.5);
        double q = 2.81022636e-08;
        q = add(3.43273939e-07, mul(q, t));
        q = add(-3.5233877e-06, mul(q, t));
        q = add(-4.39150654e-06, mul(q, t));
        q = add(0.00021858087, mul(q, t));
        q = add(-0.00125372503, mul(q, t));
        q = add(-0.00417768164, mul(q, t));
        q = add(0.246640727, mul(q, t));
        q = add(1.50140941, mul(q, t));
        x = mul(q, y);
    } else {
        const double t = add(::sqrt(w), -3.0);
        double q = -0.000200214257;
        q = add(0.000100950558, mul(q, t));
        q = add(0.00134934322, mul(q, t));
        q = add(-0.00367342844, mul(q, t));
        q = add(0.00573950773, mul(q, t));
        q = add(-0.0076224613, mul(q, t));
        q = add(0.00943887047, mul(q, t));
        q = add(1.00167406, mul(q, t));
        q = add(2.83297682, mul(q, t));
        x = mul(q, y);
    }
    const double two_over_sqrt_pi = __ddiv_rn(2.0, ::sqrt(CUDART_PI));
    for (int i = 0; i < 3; ++i) {
        const double err = add(::erf(x), -y);
        x = add(x, -__ddiv_rn(err, mul(two_over_sqrt_pi, ::exp(mul(-x, x)))));
    }
    return x;
}

template <class T>
__global__ void fill_random_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, Distribution dist,
                                   DistributionParams p) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
        double v = 0.0;
        switch (dist) {
            case Distribution::Uniform:
                v = add(p.a, mul(add(p.b, -p.a), double(philox::uniform(seed, offset, uint64_t(i)))));
                break;
            case Distribution::Normal:
                v = add(p.a, mul(p.b, double(philox::normal(seed, offset, uint64_t(i)))));
                break;
            case Distribution::TruncNormal: {
                const double u = double(philox::uniform(seed, offset, uint64_t(i)));
                const double x = add(p.cdf_low, mul(add(p.cdf_high, -p.cdf_low), u));
                v = add(p.a, mul(mul(p.b, ::sqrt(2.0)), erfinv(x)));
                v = fmin(fmax(v, p.low), p.high);
                break;
            }
            case Distribution::Bernoulli:
                v = double(philox::uniform(seed, offset, uint64_t(i))) < p.a ? 1.0 : 0.0;
                break;
        }
        out[i] = device_convert<T>(double(float(v)));  // every dtype sees the same float32 stream
    }
}

}  // namespace

void fill_random(Distribution dist, const Tensor& out, uint64_t seed, uint64_t offset, const DistributionParams& p) {
    WSOL_CHECK(out.is_contiguous(), "random fill on CUDA: the tensor must be contiguous");
    const int64_t n = out.numel();
    if (n == 0) return;
    const int device = out.device().index;
    set_device(device);
    dispatch_device(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        fill_random_kernel<T><<<grid_size(n, kBlockThreads, device), kBlockThreads, 0, current_stream(device)>>>(
            static_cast<T*>(out.raw_data()), n, seed, offset, dist, p);
    });
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace wsol::cuda
