// GPU memory statistics and synchronisation for apps and benchmarks. Callable from every build:
// without the CUDA backend (or without a device) the statistics are zero and the calls do nothing,
// so an app can print them unconditionally.
//
//   wsol::cuda_reset_peak_memory_stats();
//   train_one_epoch();
//   std::printf("%s\n", wsol::cuda_memory_summary().c_str());
//   // cuda:0: allocated 1.2 GiB (peak 9.8 GiB), reserved 10.0 GiB, 97.3% cache hits
#pragma once

#include <string>

#include "engine/caching_allocator.h"  // MemoryStats

namespace wsol {

// The caching allocator's counters for one device (engine/caching_allocator.h).
MemoryStats cuda_memory_stats(int device = 0);
void cuda_reset_peak_memory_stats(int device = 0);
// Returns every cached, unused block of every device to the driver.
void cuda_empty_cache();
// Waits until all work queued on the device (its wsol stream) has finished. Call it before reading
// a host clock around GPU work; copies to the host synchronise by themselves.
void cuda_synchronize(int device = 0);
// One line with the figures above, for logs.
std::string cuda_memory_summary(int device = 0);

}  // namespace wsol
