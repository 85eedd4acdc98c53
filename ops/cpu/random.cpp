#include "ops/cpu/random.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/philox.h"
#include "ops/random.h"

namespace wsol::cpu {

void fill_random(Distribution dist, const Tensor& out, uint64_t seed, uint64_t offset, const DistributionParams& p) {
    dispatch_all(out.dtype(), "random", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* o = static_cast<T*>(out.raw_data());
        const int64_t n = out.numel();
#pragma omp parallel for schedule(static) if (n >= 65536)
        for (int64_t i = 0; i < n; ++i) {
            double v = 0.0;
            switch (dist) {
                case Distribution::Uniform:
                    v = p.a + (p.b - p.a) * double(philox::uniform(seed, offset, uint64_t(i)));
                    break;
                case Distribution::Normal:
                    v = p.a + p.b * double(philox::normal(seed, offset, uint64_t(i)));
                    break;
                case Distribution::TruncNormal: {
                    const double u = double(philox::uniform(seed, offset, uint64_t(i)));
                    const double x = p.cdf_low + (p.cdf_high - p.cdf_low) * u;  // in (-1, 1)
                    v = p.a + p.b * std::sqrt(2.0) * erfinv(x);
                    v = std::min(std::max(v, p.low), p.high);
                    break;
                }
                case Distribution::Bernoulli:
                    v = double(philox::uniform(seed, offset, uint64_t(i))) < p.a ? 1.0 : 0.0;
                    break;
            }
            // Round to float32 first: every dtype sees the same float32 stream.
            o[i] = convert<T>(double(float(v)));
        }
    });
}

}  // namespace wsol::cpu
