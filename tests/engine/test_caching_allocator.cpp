// The caching allocator's policy (engine/caching_allocator.h) through a fake backend that hands
// out host memory and can be told to run out: size classes, reuse per stream, statistics, the
// out-of-memory retry and its error. Runs on every machine; the CUDA backend adds only cudaMalloc.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "engine/caching_allocator.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/gpu.h"

namespace wsol {
namespace {

// Host memory with a byte budget: raw_allocate returns nullptr once `limit` would be exceeded.
class FakeBackend final : public CachingAllocator::Backend {
public:
    explicit FakeBackend(size_t limit, size_t* in_use, int* frees) : limit_(limit), in_use_(in_use), frees_(frees) {}
    void* raw_allocate(size_t nbytes) override {
        if (*in_use_ + nbytes > limit_) return nullptr;
        *in_use_ += nbytes;
        void* p = std::malloc(nbytes);
        sizes_[p] = nbytes;
        return p;
    }
    void raw_free(void* ptr) noexcept override {
        *in_use_ -= sizes_[ptr];
        sizes_.erase(ptr);
        ++*frees_;
        std::free(ptr);
    }
    std::string describe() const override { return "fake:0"; }

private:
    size_t limit_;
    size_t* in_use_;
    int* frees_;
    std::map<void*, size_t> sizes_;
};

struct Harness {
    size_t in_use = 0;
    int frees = 0;
    CachingAllocator alloc;
    explicit Harness(size_t limit = size_t(1) << 40) : alloc(std::make_unique<FakeBackend>(limit, &in_use, &frees)) {}
};

const CachingAllocator::Stream kStreamA = reinterpret_cast<CachingAllocator::Stream>(0x10);
const CachingAllocator::Stream kStreamB = reinterpret_cast<CachingAllocator::Stream>(0x20);
constexpr size_t MiB = size_t(1) << 20;

TEST(CachingAllocator, SizeClasses) {
    EXPECT_EQ(caching_round_size(0), 0u);
    EXPECT_EQ(caching_round_size(1), 512u);
    EXPECT_EQ(caching_round_size(512), 512u);
    EXPECT_EQ(caching_round_size(513), 1024u);
    EXPECT_EQ(caching_round_size(MiB), MiB);          // the largest small size
    EXPECT_EQ(caching_round_size(MiB + 1), 2 * MiB);  // large sizes go in 2 MiB steps
    EXPECT_EQ(caching_round_size(5 * MiB), 6 * MiB);
    EXPECT_EQ(caching_max_reuse_size(4 * MiB), 5 * MiB);
}

TEST(CachingAllocator, ReusesFreedBlocksOfTheSameStreamAndClass) {
    Harness h;
    void* a = h.alloc.allocate(1000, kStreamA);
    EXPECT_EQ(h.alloc.block_size(a), 1024u);
    h.alloc.free(a);
    void* b = h.alloc.allocate(1020, kStreamA);  // same class: the cached block comes back
    EXPECT_EQ(b, a);
    void* c = h.alloc.allocate(1000, kStreamB);  // another stream never takes it
    EXPECT_NE(c, a);
    const MemoryStats s = h.alloc.stats();
    EXPECT_EQ(s.allocations, 3u);
    EXPECT_EQ(s.cache_hits, 1u);
    EXPECT_EQ(s.backend_allocations, 2u);
    h.alloc.free(b);
    h.alloc.free(c);
}

TEST(CachingAllocator, BestFitWithinTwentyFivePercent) {
    Harness h;
    void* big = h.alloc.allocate(8 * MiB, kStreamA);
    void* mid = h.alloc.allocate(4 * MiB, kStreamA);
    h.alloc.free(big);
    h.alloc.free(mid);
    // 3.5 MiB rounds to 4 MiB: the 4 MiB block fits exactly; the 8 MiB one would waste too much.
    EXPECT_EQ(h.alloc.allocate(3 * MiB + MiB / 2, kStreamA), mid);
    // 7 MiB rounds to 8 MiB: served by the cached 8 MiB block.
    EXPECT_EQ(h.alloc.allocate(7 * MiB, kStreamA), big);
    // 1 MiB + 1 rounds to 2 MiB: nothing cached fits within 2.5 MiB, so a new block.
    void* fresh = h.alloc.allocate(MiB + 1, kStreamA);
    EXPECT_NE(fresh, big);
    EXPECT_NE(fresh, mid);
    EXPECT_EQ(h.alloc.stats().backend_allocations, 3u);
    for (void* p : {big, mid, fresh}) h.alloc.free(p);
}

TEST(CachingAllocator, StatisticsTrackLiveCachedAndPeak) {
    Harness h;
    void* a = h.alloc.allocate(3 * MiB, kStreamA);  // 4 MiB block
    void* b = h.alloc.allocate(100, kStreamA);      // 512 B block
    MemoryStats s = h.alloc.stats();
    EXPECT_EQ(s.allocated_bytes, 4 * MiB + 512);
    EXPECT_EQ(s.requested_bytes, 3 * MiB + 100);
    EXPECT_EQ(s.reserved_bytes, 4 * MiB + 512);
    h.alloc.free(a);
    s = h.alloc.stats();
    EXPECT_EQ(s.allocated_bytes, 512u);
    EXPECT_EQ(s.reserved_bytes, 4 * MiB + 512);  // still cached
    EXPECT_EQ(s.peak_allocated_bytes, 4 * MiB + 512);
    h.alloc.reset_peak();
    EXPECT_EQ(h.alloc.stats().peak_allocated_bytes, 512u);
    h.alloc.empty_cache();
    s = h.alloc.stats();
    EXPECT_EQ(s.reserved_bytes, 512u);
    EXPECT_EQ(s.backend_frees, 1u);
    EXPECT_EQ(h.in_use, 512u);
    h.alloc.free(b);
    h.alloc.free(nullptr);                          // ignored
    h.alloc.free(reinterpret_cast<void*>(0x1234));  // not ours: ignored, nothing corrupted
    EXPECT_EQ(h.alloc.stats().allocated_bytes, 0u);
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheAndRetriesOnce) {
    Harness h(10 * MiB);
    void* a = h.alloc.allocate(6 * MiB, kStreamA);
    h.alloc.free(a);  // 6 MiB cached, 4 MiB left in the fake device
    // 8 MiB does not fit next to the cached block; freeing the cache makes room.
    void* b = h.alloc.allocate(8 * MiB, kStreamA);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(h.alloc.stats().oom_retries, 1u);
    EXPECT_EQ(h.frees, 1);
    // Nothing more fits even after emptying the (now empty) cache: a clear error.
    try {
        h.alloc.allocate(4 * MiB, kStreamA);
        FAIL() << "expected an out-of-memory error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("out of device memory allocating 4194304 bytes"), std::string::npos) << message;
        EXPECT_NE(message.find("fake:0"), std::string::npos) << message;
        EXPECT_NE(message.find("8.0 MiB in live tensors"), std::string::npos) << message;
    }
    h.alloc.free(b);
}

TEST(CachingAllocator, ZeroBytesIsNullAndCountsNothing) {
    Harness h;
    EXPECT_EQ(h.alloc.allocate(0, kStreamA), nullptr);
    EXPECT_EQ(h.alloc.stats().allocations, 0u);
}

TEST(GpuApi, CallableWithoutADevice) {
    // In a CPU build (or with no GPU) these are zeros and no-ops, so apps may call them anyway.
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present; tests/cuda covers this";
    EXPECT_EQ(cuda_memory_stats().allocated_bytes, 0u);
    cuda_reset_peak_memory_stats();
    cuda_empty_cache();
    cuda_synchronize();
    EXPECT_NE(cuda_memory_summary().find("cuda:0: allocated 0.00 GiB"), std::string::npos);
}

}  // namespace
}  // namespace wsol
