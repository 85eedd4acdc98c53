// A caching allocator for device memory, in the spirit of PyTorch's CUDA caching allocator but
// much smaller. cudaMalloc and cudaFree are slow (they synchronise the device), and a training step
// allocates and frees the same activation sizes every iteration, so freed blocks are kept in a
// cache and handed out again instead of going back to the driver.
//
// Policy (all of it in this file, so that it can be tested on a machine without a GPU through a
// fake Backend, tests/engine/test_caching_allocator.cpp):
//   - size classes: a request is rounded up to a multiple of 512 B when it is at most 1 MiB
//     ("small"), otherwise to a multiple of 2 MiB ("large"), so that slightly different sizes
//     share blocks;
//   - reuse: a cached block serves a request when it was freed on the same stream (the stream's
//     ordering then guarantees that work queued on the old tensor finishes before work on the new
//     one starts, with no event needed) and is at most 25% larger than the rounded request;
//     blocks are never split, which keeps the bookkeeping to two maps;
//   - out of memory: the cache is returned to the backend and the request retried once; if it
//     still fails, a wsol::Error names the size, the live and cached bytes and the device.
// Not thread-hostile: one mutex guards everything (allocation is rare next to kernel work).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wsol {

// Counters of one allocator (one device). "allocated" counts rounded block sizes handed out and
// not yet freed; "reserved" adds the cached blocks (what the device has given us).
struct MemoryStats {
    size_t allocated_bytes = 0;
    size_t peak_allocated_bytes = 0;
    size_t requested_bytes = 0;  // the callers' unrounded sizes of the live blocks
    size_t reserved_bytes = 0;
    size_t peak_reserved_bytes = 0;
    uint64_t allocations = 0;         // requests served (non-zero sizes)
    uint64_t cache_hits = 0;          // ... of which from the cache
    uint64_t backend_allocations = 0; // raw allocations (cudaMalloc calls)
    uint64_t backend_frees = 0;       // raw frees (cudaFree calls)
    uint64_t oom_retries = 0;         // times the cache was emptied to satisfy a request
};

inline constexpr size_t kSmallBlockLimit = size_t(1) << 20;   // 1 MiB
inline constexpr size_t kSmallGranularity = 512;
inline constexpr size_t kLargeGranularity = size_t(2) << 20;  // 2 MiB

// The size class of a request: nbytes rounded up as described above (0 stays 0).
size_t caching_round_size(size_t nbytes);
// The largest cached block that may serve a request of `rounded` bytes (25% slack).
size_t caching_max_reuse_size(size_t rounded);

class CachingAllocator {
public:
    // Where the memory really comes from (cudaMalloc/cudaFree, or a fake in tests).
    class Backend {
    public:
        virtual ~Backend() = default;
        // nullptr when the device is out of memory; throws wsol::Error on any other failure.
        virtual void* raw_allocate(size_t nbytes) = 0;
        // Must not throw (runs from destructors).
        virtual void raw_free(void* ptr) noexcept = 0;
        // The device and its memory, for error messages ("cuda:0, 79.1 GiB total, 0.3 GiB free").
        virtual std::string describe() const = 0;
    };
    // Identity of a stream (a cudaStream_t), compared only for equality.
    using Stream = const void*;

    explicit CachingAllocator(std::unique_ptr<Backend> backend);
    ~CachingAllocator();  // returns the cached blocks; blocks still in use are left alone
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    // At least `nbytes` bytes for use on `stream`; nullptr for 0 bytes. Throws on out of memory.
    void* allocate(size_t nbytes, Stream stream);
    // Returns a block from allocate() to the cache. nullptr is ignored; never throws.
    void free(void* ptr) noexcept;
    // Gives every cached block back to the backend.
    void empty_cache();
    MemoryStats stats() const;
    // Peaks restart from the current values.
    void reset_peak();
    // The block size behind a live pointer (0 if unknown); for tests and diagnostics.
    size_t block_size(void* ptr) const;

private:
    struct Block {
        size_t size;       // rounded
        size_t requested;  // as asked
        Stream stream;
    };
    void release_cache_locked();

    std::unique_ptr<Backend> backend_;
    mutable std::mutex mutex_;
    std::unordered_map<void*, Block> live_;                   // handed out
    std::map<Stream, std::multimap<size_t, void*>> cached_;   // free, per stream, by size
    MemoryStats stats_;
};

}  // namespace wsol
