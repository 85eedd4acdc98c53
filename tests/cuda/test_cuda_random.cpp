// Philox on the GPU (ops/cuda/random.h): for a seed and offset, every distribution in every dtype
// must give bit for bit the numbers of the CPU kernel, including odd offsets (a request starting
// in the middle of a counter's four words is impossible by construction, but the element index
// still walks the lanes) and sizes that are not multiples of four.
#include <cmath>
#include <cstring>
#include <tuple>

#include "cuda/cuda_testing.h"
#include "ops/cpu/random.h"
#if WSOL_CUDA
#include "ops/cuda/random.h"
#endif

namespace wsol {
namespace {

using namespace testing;

TEST(CudaRandom, BitIdenticalToTheCpu) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    struct Case {
        cpu::Distribution dist;
        cpu::DistributionParams params;
        const char* name;
    };
    cpu::DistributionParams trunc;  // mean 0.1, std 0.02, bounds [-0.2, 0.2] (as timm's trunc_normal_)
    trunc.a = 0.1;
    trunc.b = 0.02;
    trunc.low = -0.2;
    trunc.high = 0.2;
    trunc.cdf_low = std::erf((trunc.low - trunc.a) / trunc.b / std::sqrt(2.0));
    trunc.cdf_high = std::erf((trunc.high - trunc.a) / trunc.b / std::sqrt(2.0));
    cpu::DistributionParams wide = trunc;  // bounds inside the bulk: both tails cut
    wide.a = 0.0;
    wide.b = 1.0;
    wide.low = -2.0;
    wide.high = 2.0;
    wide.cdf_low = std::erf(-2.0 / std::sqrt(2.0));
    wide.cdf_high = std::erf(2.0 / std::sqrt(2.0));
    const Case cases[] = {
        {cpu::Distribution::Uniform, {-3.0, 5.0}, "uniform"},
        {cpu::Distribution::Normal, {0.5, 2.0}, "normal"},
        {cpu::Distribution::TruncNormal, trunc, "trunc_normal (narrow)"},
        {cpu::Distribution::TruncNormal, wide, "trunc_normal (wide)"},
        {cpu::Distribution::Bernoulli, {0.3, 0.0}, "bernoulli"},
    };
    for (const Case& c : cases) {
        for (DType dtype : {kFloat32, kFloat64, kBFloat16, kFloat16, kInt32, kInt64, kUInt8, kBool}) {
            for (auto [seed, offset, n] : {std::tuple<uint64_t, uint64_t, int64_t>{1, 0, 100003},
                                           {0xDEADBEEFCAFEull, 12345, 4097}, {42, (1ull << 33) + 7, 5}}) {
                SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dtype) + " seed " + std::to_string(seed) +
                             " offset " + std::to_string(offset));
                Tensor gpu = poisoned({n}, dtype);
                cuda::fill_random(c.dist, gpu, seed, offset, c.params);
                Tensor cpu = Tensor::empty({n}, dtype);
                cpu::fill_random(c.dist, cpu, seed, offset, c.params);
                const std::vector<uint8_t> g = byte_view(to(gpu, kCPU)).to_vector<uint8_t>();
                const std::vector<uint8_t> h = byte_view(cpu).to_vector<uint8_t>();
                ASSERT_EQ(g.size(), h.size());
                size_t mismatches = 0, first = 0;
                for (size_t i = 0; i < g.size(); ++i) {
                    if (g[i] != h[i] && mismatches++ == 0) first = i;
                }
                EXPECT_EQ(mismatches, 0u) << "first differing byte " << first << " (element "
                                          << first / dtype_size(dtype) << ")";
            }
        }
    }
#endif
}

TEST(CudaRandom, OpsGiveTheSameTensorsOnBothDevices) {
    WSOL_REQUIRE_GPU();
    Generator cpu_gen(2024), gpu_gen(2024);
    Tensor a = rand_normal({33, 17}, cpu_gen, 0.0, 1.0, kFloat32, kCPU);
    Tensor b = rand_normal({33, 17}, gpu_gen, 0.0, 1.0, kFloat32, kGPU);
    EXPECT_EQ(to(b, kCPU).to_vector<float>(), a.to_vector<float>());
    Tensor c = rand_trunc_normal({1000}, cpu_gen, 0.0, 0.02, -0.04, 0.04, kFloat32, kCPU);
    Tensor d = rand_trunc_normal({1000}, gpu_gen, 0.0, 0.02, -0.04, 0.04, kFloat32, kGPU);
    EXPECT_EQ(to(d, kCPU).to_vector<float>(), c.to_vector<float>());
    EXPECT_EQ(cpu_gen.offset(), gpu_gen.offset());
    // Fresh numbers for the next request, not a repeat.
    Tensor e = rand_uniform({8}, gpu_gen, 0.0, 1.0, kFloat32, kGPU);
    EXPECT_NE(to(e, kCPU).to_vector<float>(), to(narrow(flatten(b), 0, 0, 8), kCPU).to_vector<float>());
}

}  // namespace
}  // namespace wsol
