// Device memory for the CUDA backend: allocation, transfers and the current stream.
// Compiled only when the library is built with WSOL_CUDA; the rest of the engine reaches it through
// Storage::allocate and copy_into.
#pragma once

#include <cstddef>

namespace wsol::cuda {

int device_count();
// Device memory of at least `nbytes` on device `device`; throws wsol::Error when out of memory.
void* device_malloc(size_t nbytes, int device);
void device_free(void* ptr, int device);
void memset_zero(void* ptr, size_t nbytes, int device);
// Blocking transfers, ordered after the work already queued on the device's current stream.
void memcpy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void memcpy_device_to_host(void* dst, const void* src, size_t nbytes, int device);

}  // namespace wsol::cuda
