// Device memory for the CUDA backend: the caching allocator of each device (cudaMalloc behind
// engine/caching_allocator.h), and transfers between host and device through a small pool of
// pinned staging buffers (engine/cuda/transfer.cu). Compiled only when the library is built with
// WSOL_CUDA; the rest of the engine reaches it through Storage::allocate and copy_into, and apps
// through engine/gpu.h.
#pragma once

#include <cstddef>

#include "engine/caching_allocator.h"

namespace wsol::cuda {

int device_count();

// Device memory of at least `nbytes` on `device`, for use on its current stream; nullptr for 0
// bytes. Throws wsol::Error naming the size and the usage when the device is out of memory.
void* device_malloc(size_t nbytes, int device);
// Returns memory from device_malloc to the cache. Never throws.
void device_free(void* ptr, int device) noexcept;
void empty_cache(int device);
MemoryStats memory_stats(int device);
void reset_peak_memory_stats(int device);

// Zero bytes, queued on the device's stream.
void memset_zero(void* ptr, size_t nbytes, int device);
// Host -> device: the host bytes are copied into pinned memory first, so the call returns once the
// data is staged (the caller may free its buffer); the transfer itself is ordered on the stream.
void memcpy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
// Device -> host: waits for the work queued on the stream, then returns with the data in `dst`.
void memcpy_device_to_host(void* dst, const void* src, size_t nbytes, int device);

}  // namespace wsol::cuda
