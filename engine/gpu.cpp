#include "engine/gpu.h"

#include <cstdio>

#include "engine/device.h"
#if WSOL_CUDA
#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"
#endif

namespace wsol {

MemoryStats cuda_memory_stats(int device) {
#if WSOL_CUDA
    if (device < cuda_device_count()) return cuda::memory_stats(device);
#endif
    (void)device;
    return {};
}

void cuda_reset_peak_memory_stats(int device) {
#if WSOL_CUDA
    if (device < cuda_device_count()) cuda::reset_peak_memory_stats(device);
#endif
    (void)device;
}

void cuda_empty_cache() {
#if WSOL_CUDA
    for (int d = 0; d < cuda_device_count(); ++d) cuda::empty_cache(d);
#endif
}

void cuda_synchronize(int device) {
#if WSOL_CUDA
    if (device < cuda_device_count()) cuda::synchronize(device);
#endif
    (void)device;
}

std::string cuda_memory_summary(int device) {
    const MemoryStats s = cuda_memory_stats(device);
    const double gib = double(size_t(1) << 30);
    char line[256];
    std::snprintf(line, sizeof(line), "cuda:%d: allocated %.2f GiB (peak %.2f GiB), reserved %.2f GiB (peak %.2f GiB), "
                  "%.1f%% cache hits, %llu cudaMalloc",
                  device, double(s.allocated_bytes) / gib, double(s.peak_allocated_bytes) / gib,
                  double(s.reserved_bytes) / gib, double(s.peak_reserved_bytes) / gib,
                  s.allocations ? 100.0 * double(s.cache_hits) / double(s.allocations) : 0.0,
                  static_cast<unsigned long long>(s.backend_allocations));
    return line;
}

}  // namespace wsol
