// The CUDA execution context of wsol: which device is current, the one stream per device that
// every kernel launch, library call and copy uses, device properties, and event timing.
//
// One stream per device keeps the ordering simple: work on a device runs in the order it was
// issued, so a freed block can be reused at once (engine/caching_allocator.h) and a copy to the
// host sees every earlier kernel's result. The stream is created with the default flags, so it
// also orders itself with the legacy default stream: a kernel someone launches without a stream
// by mistake is still correct, only not concurrent.
#pragma once

#include <cuda_runtime.h>

#include <string>

namespace wsol::cuda {

// Makes `device` current for the calling thread (cudaSetDevice, skipped when it already is).
void set_device(int device);

// The stream all work on `device` goes to; created on first use. Every kernel launch in wsol passes
// it explicitly: kernel<<<grid, block, smem, current_stream(device)>>>(...).
cudaStream_t current_stream(int device);

// Waits for all work queued on the device's stream (for timing and before host reads).
void synchronize(int device);

struct DeviceInfo {
    std::string name;
    int major = 0, minor = 0;                // compute capability
    int multiprocessors = 0;
    size_t total_memory = 0;                 // bytes
    size_t l2_cache_bytes = 0;
    size_t max_shared_memory_per_block = 0;  // with the opt-in (cudaFuncSetAttribute)
};
// Properties of a device, read once.
const DeviceInfo& device_info(int device);

// Blocks for a grid-stride loop over `items` with `threads` per block: enough blocks to fill every
// multiprocessor several times over, never more than the items need.
int grid_size(int64_t items, int threads, int device);

// Times GPU work with events on the device's stream:
//   EventTimer t(0); t.start(); work(); float ms = t.stop();
class EventTimer {
public:
    explicit EventTimer(int device);
    ~EventTimer();
    EventTimer(const EventTimer&) = delete;
    EventTimer& operator=(const EventTimer&) = delete;
    void start();
    // Milliseconds since start(); waits for the work in between to finish.
    float stop();

private:
    int device_;
    cudaEvent_t begin_ = nullptr, end_ = nullptr;
};

}  // namespace wsol::cuda
