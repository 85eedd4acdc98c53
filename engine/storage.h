// A reference-counted block of memory on one device. Tensors are views into a Storage: several
// tensors (a tensor, its transpose, a slice of it) share one Storage through std::shared_ptr, and
// the memory goes back to its allocator when the last of them is gone.
//
// Host memory is 64-byte aligned (one cache line, and enough for AVX-512 loads). CUDA memory comes
// from the caching allocator in engine/cuda/ when the library is built with CUDA.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "engine/device.h"

namespace wsol {

class Storage {
public:
    using Deleter = std::function<void(void*)>;

    // Fresh, uninitialised memory of `nbytes` on `device`.
    static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
    // Memory owned elsewhere (a memory-mapped file, a caller's buffer); `deleter` runs at the end.
    static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device, Deleter deleter);

    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    ~Storage();

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

    // Incremented by every in-place write, so that autograd can tell when a tensor it saved for
    // the backward pass was overwritten afterwards.
    uint64_t version() const { return version_.load(std::memory_order_relaxed); }
    void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

private:
    Storage(void* data, size_t nbytes, Device device, Deleter deleter)
        : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}

    void* data_;
    size_t nbytes_;
    Device device_;
    Deleter deleter_;
    std::atomic<uint64_t> version_{0};
};

// 64-byte aligned host allocation; throws wsol::Error when the system is out of memory.
void* cpu_allocate(size_t nbytes);
void cpu_free(void* ptr);

}  // namespace wsol
