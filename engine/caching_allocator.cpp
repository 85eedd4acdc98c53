#include "engine/caching_allocator.h"

#include <algorithm>
#include <cstdio>

#include "engine/error.h"

namespace wsol {

namespace {

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::string mib(size_t bytes) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f MiB", double(bytes) / double(1 << 20));
    return text;
}

}  // namespace

size_t caching_round_size(size_t nbytes) {
    if (nbytes == 0) return 0;
    return nbytes <= kSmallBlockLimit ? round_up(nbytes, kSmallGranularity) : round_up(nbytes, kLargeGranularity);
}

size_t caching_max_reuse_size(size_t rounded) { return rounded + rounded / 4; }

CachingAllocator::CachingAllocator(std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {}

CachingAllocator::~CachingAllocator() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cache_locked();
}

void* CachingAllocator::allocate(size_t nbytes, Stream stream) {
    if (nbytes == 0) return nullptr;
    const size_t size = caching_round_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.allocations;

    void* ptr = nullptr;
    size_t got = size;
    auto pool = cached_.find(stream);
    if (pool != cached_.end()) {
        auto it = pool->second.lower_bound(size);  // best fit: the smallest block that is large enough
        if (it != pool->second.end() && it->first <= caching_max_reuse_size(size)) {
            got = it->first;
            ptr = it->second;
            pool->second.erase(it);
            ++stats_.cache_hits;
        }
    }
    if (!ptr) {
        ptr = backend_->raw_allocate(size);
        if (!ptr) {
            // Out of memory: cached blocks of other sizes or streams may be what is missing.
            ++stats_.oom_retries;
            release_cache_locked();
            ptr = backend_->raw_allocate(size);
        }
        if (!ptr) {
            WSOL_FAIL("out of device memory allocating ", nbytes, " bytes (", mib(nbytes), ", rounded to ", mib(size),
                      ") on ", backend_->describe(), "; wsol holds ", mib(stats_.allocated_bytes), " in live tensors (peak ",
                      mib(stats_.peak_allocated_bytes), "), the cache was emptied and the allocation retried");
        }
        ++stats_.backend_allocations;
        stats_.reserved_bytes += size;
        stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
    }
    live_.emplace(ptr, Block{got, nbytes, stream});
    stats_.allocated_bytes += got;
    stats_.requested_bytes += nbytes;
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
    return ptr;
}

void CachingAllocator::free(void* ptr) noexcept {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: ignore rather than corrupt the cache
    const Block block = it->second;
    live_.erase(it);
    stats_.allocated_bytes -= block.size;
    stats_.requested_bytes -= block.requested;
    cached_[block.stream].emplace(block.size, ptr);
}

void CachingAllocator::empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cache_locked();
}

void CachingAllocator::release_cache_locked() {
    for (auto& [stream, pool] : cached_) {
        for (auto& [size, ptr] : pool) {
            backend_->raw_free(ptr);
            ++stats_.backend_frees;
            stats_.reserved_bytes -= size;
        }
    }
    cached_.clear();
}

MemoryStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
    stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

size_t CachingAllocator::block_size(void* ptr) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    return it == live_.end() ? 0 : it->second.size;
}

}  // namespace wsol
