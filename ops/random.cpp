#include "ops/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/philox.h"
#include "ops/cpu/random.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"
#if WSOL_CUDA
#include "ops/cuda/random.h"
#endif

namespace wsol {

double erfinv(double y) {
    WSOL_CHECK(y >= -1.0 && y <= 1.0, "erfinv: argument ", y, " is outside [-1, 1]");
    if (y == 1.0) return INFINITY;
    if (y == -1.0) return -INFINITY;
    // Initial guess (Giles, "Approximating the erfinv function", single-precision branch), then
    // Newton steps on erf(x) - y, which converge to double precision in two or three steps.
    const double w = -std::log((1.0 - y) * (1.0 + y));
    double x;
    if (w < 5.0) {
        const double t = w - 2.5;
        double q = 2.81022636e-08;
        q = 3.43273939e-07 + q * t;
        q = -3.5233877e-06 + q * t;
        q = -4.39150654e-06 + q * t;
        q = 0.00021858087 + q * t;
        q = -0.00125372503 + q * t;
        q = -0.00417768164 + q * t;
        q = 0.246640727 + q * t;
        q = 1.50140941 + q * t;
        x = q * y;
    } else {
        const double t = std::sqrt(w) - 3.0;
        double q = -0.000200214257;
        q = 0.000100950558 + q * t;
        q = 0.00134934322 + q * t;
        q = -0.00367342844 + q * t;
        q = 0.00573950773 + q * t;
        q = -0.0076224613 + q * t;
        q = 0.00943887047 + q * t;
        q = 1.00167406 + q * t;
        q = 2.83297682 + q * t;
        x = q * y;
    }
    for (int i = 0; i < 3; ++i) {
        const double err = std::erf(x) - y;
        x -= err / (2.0 / std::sqrt(M_PI) * std::exp(-x * x));
    }
    return x;
}

namespace {

void fill(cpu::Distribution dist, const Tensor& out, Generator& gen, const cpu::DistributionParams& p) {
    WSOL_CHECK(out.is_contiguous(), "random fill: the tensor must be contiguous");
    const uint64_t offset = gen.reserve(uint64_t(out.numel()));
    switch (backend_of("random", {out})) {
        case DeviceType::CPU: cpu::fill_random(dist, out, gen.seed(), offset, p); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::fill_random(dist, out, gen.seed(), offset, p)); break;
    }
    out.storage()->bump_version();
}

cpu::DistributionParams trunc_params(double mean, double std, double low, double high) {
    WSOL_CHECK(std > 0.0 && low < high, "trunc_normal: needs std > 0 and low < high, got std ", std, ", bounds [", low,
               ", ", high, "]");
    cpu::DistributionParams p;
    p.a = mean;
    p.b = std;
    p.low = low;
    p.high = high;
    // 2*Phi(z) - 1 = erf(z / sqrt 2) for the standardised bounds.
    p.cdf_low = std::erf((low - mean) / std / std::sqrt(2.0));
    p.cdf_high = std::erf((high - mean) / std / std::sqrt(2.0));
    return p;
}

}  // namespace

void uniform_(const Tensor& x, Generator& gen, double low, double high) {
    fill(cpu::Distribution::Uniform, x, gen, {low, high});
}
void normal_(const Tensor& x, Generator& gen, double mean, double std) {
    fill(cpu::Distribution::Normal, x, gen, {mean, std});
}
void trunc_normal_(const Tensor& x, Generator& gen, double mean, double std, double low, double high) {
    fill(cpu::Distribution::TruncNormal, x, gen, trunc_params(mean, std, low, high));
}

Tensor rand_uniform(const Shape& shape, Generator& gen, double low, double high, DType dtype, Device device) {
    Tensor out = Tensor::empty(shape, dtype, device);
    uniform_(out, gen, low, high);
    return out;
}

Tensor rand_normal(const Shape& shape, Generator& gen, double mean, double std, DType dtype, Device device) {
    Tensor out = Tensor::empty(shape, dtype, device);
    normal_(out, gen, mean, std);
    return out;
}

Tensor rand_trunc_normal(const Shape& shape, Generator& gen, double mean, double std, double low, double high,
                         DType dtype, Device device) {
    Tensor out = Tensor::empty(shape, dtype, device);
    trunc_normal_(out, gen, mean, std, low, high);
    return out;
}

Tensor rand_bernoulli(const Shape& shape, Generator& gen, double p, DType dtype, Device device) {
    WSOL_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: probability ", p, " is outside [0, 1]");
    Tensor out = Tensor::empty(shape, dtype, device);
    fill(cpu::Distribution::Bernoulli, out, gen, {p, 0.0});
    return out;
}

Tensor randperm(int64_t n, Generator& gen, Device device) {
    WSOL_CHECK(n >= 0, "randperm: negative length ", n);
    // Keys come from the same Philox words on any device; the sort runs on the host.
    const uint64_t offset = gen.reserve(uint64_t(n));
    std::vector<int64_t> index(static_cast<size_t>(n));
    std::iota(index.begin(), index.end(), 0);
    std::vector<uint32_t> keys(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) keys[size_t(i)] = philox::word(gen.seed(), offset, uint64_t(i));
    std::stable_sort(index.begin(), index.end(), [&](int64_t a, int64_t b) { return keys[size_t(a)] < keys[size_t(b)]; });
    return Tensor::from_vector(index, {n}, device);
}

}  // namespace wsol
