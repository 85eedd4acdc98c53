// The CUDA engine layer on a real device: the caching allocator behind Tensor::empty (reuse,
// statistics, out-of-memory error and recovery), pinned-staging transfers in both directions
// (sizes around the 4 MiB staging chunk, strided sources and destinations), the stream, device
// properties and the event timer. The allocator's policy itself is tested without a GPU in
// tests/engine/test_caching_allocator.cpp.
#include <cstring>
#include <numeric>

#include "cuda/cuda_testing.h"
#if WSOL_CUDA
#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"
#endif

namespace wsol {
namespace {

using namespace testing;

TEST(CudaMemory, CachingAllocatorReusesAndCounts) {
    WSOL_REQUIRE_GPU();
    cuda_empty_cache();  // no cached block from earlier tests may serve the requests below
    const MemoryStats before = cuda_memory_stats();
    const void* first = nullptr;
    {
        Tensor a = Tensor::empty({1000, 1000}, kFloat32, kGPU);  // 4 MB: a large block
        first = a.raw_data();
        const MemoryStats live = cuda_memory_stats();
        EXPECT_GE(live.allocated_bytes, before.allocated_bytes + 4000000);
        EXPECT_GE(live.peak_allocated_bytes, live.allocated_bytes);
    }
    EXPECT_EQ(cuda_memory_stats().allocated_bytes, before.allocated_bytes);
    Tensor b = Tensor::empty({999, 1000}, kFloat32, kGPU);  // same size class: the cached block
    EXPECT_EQ(b.raw_data(), first);
    EXPECT_GT(cuda_memory_stats().cache_hits, before.cache_hits);
    cuda_reset_peak_memory_stats();
    EXPECT_EQ(cuda_memory_stats().peak_allocated_bytes, cuda_memory_stats().allocated_bytes);
    b = Tensor();
    const size_t reserved = cuda_memory_stats().reserved_bytes;
    cuda_empty_cache();
    EXPECT_LT(cuda_memory_stats().reserved_bytes, reserved);
    EXPECT_NE(cuda_memory_summary().find("cuda:0: allocated"), std::string::npos);
}

TEST(CudaMemory, OutOfMemoryIsAnErrorAndRecoverable) {
    WSOL_REQUIRE_GPU();
    EXPECT_WSOL_ERROR(Tensor::empty({int64_t(1) << 50}, kUInt8, kGPU), "out of device memory allocating 1125899906842624 bytes");
    Tensor ok = Tensor::zeros({1024}, kFloat32, kGPU);  // the device still works
    EXPECT_EQ(to(ok, kCPU).to_vector<float>(), std::vector<float>(1024, 0.0f));
}

TEST(CudaMemory, TransfersRoundTrip) {
    WSOL_REQUIRE_GPU();
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(5), int64_t(4 << 20) - 1, int64_t(4 << 20) + 3, int64_t(21 << 20) + 7}) {
        SCOPED_TRACE(n);
        std::vector<uint8_t> bytes(static_cast<size_t>(n));
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t((i * 2654435761u) >> 13);
        Tensor host = Tensor::from_vector(bytes, {n});
        Tensor device = to(host, kGPU);
        // The upload was staged through pinned memory: overwriting the source now changes nothing.
        std::memset(host.raw_data(), 0, size_t(n));
        EXPECT_EQ(to(device, kCPU).to_vector<uint8_t>(), bytes);
    }
    // Strided on either side.
    Tensor x = random_input({37, 53}, kFloat32, 3, -1, 1);
    Tensor xt = transpose(x, 0, 1);
    Tensor g = Tensor::empty({37, 53}, kFloat32, kGPU);
    copy_into(transpose(g, 0, 1), xt);  // host strided -> device strided
    EXPECT_EQ(to(g, kCPU).to_vector<float>(), x.to_vector<float>());
    Tensor h = Tensor::empty({53, 37}, kFloat32);
    copy_into(h, transpose(g, 0, 1));  // device strided -> host
    EXPECT_EQ(h.to_vector<float>(), contiguous(xt).to_vector<float>());
}

TEST(CudaMemory, StreamDeviceInfoAndTimer) {
    WSOL_REQUIRE_GPU();
#if WSOL_CUDA
    EXPECT_NE(cuda::current_stream(0), nullptr);
    EXPECT_EQ(cuda::current_stream(0), cuda::current_stream(0));
    const cuda::DeviceInfo& info = cuda::device_info(0);
    EXPECT_GT(info.multiprocessors, 0);
    EXPECT_GE(info.max_shared_memory_per_block, size_t(48 * 1024));
    std::printf("device 0: %s, sm_%d%d, %d SMs, %.1f GiB, %.0f MB L2\n", info.name.c_str(), info.major, info.minor,
                info.multiprocessors, double(info.total_memory) / double(1 << 30), double(info.l2_cache_bytes) / 1e6);
    cuda::EventTimer timer(0);
    timer.start();
    Tensor x = Tensor::zeros({1 << 20}, kFloat32, kGPU);
    fill_(x, 1.0);
    const float ms = timer.stop();
    EXPECT_GE(ms, 0.0f);
    EXPECT_THROW(cuda::current_stream(cuda_device_count()), Error);
#endif
}

}  // namespace
}  // namespace wsol
