// Per-device streams and properties, created lazily and kept for the life of the process (never
// destroyed: destroying CUDA objects from static destructors races with the runtime's own teardown).
#include "engine/cuda/context.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/memory.h"

namespace wsol::cuda {

namespace {

thread_local int t_current_device = -1;

struct PerDevice {
    cudaStream_t stream = nullptr;
    std::unique_ptr<DeviceInfo> info;
};

std::mutex g_mutex;

PerDevice& per_device(int device) {
    static std::vector<PerDevice>* devices = new std::vector<PerDevice>(size_t(std::max(device_count(), 1)));
    WSOL_CHECK(device >= 0 && device < device_count(), "CUDA device ", device, " does not exist (", device_count(),
               " visible)");
    return (*devices)[size_t(device)];
}

}  // namespace

void set_device(int device) {
    if (t_current_device == device) return;
    WSOL_CUDA_CHECK(cudaSetDevice(device));
    t_current_device = device;
}

cudaStream_t current_stream(int device) {
    PerDevice& d = per_device(device);
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!d.stream) {
        set_device(device);
        WSOL_CUDA_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamDefault));
    }
    return d.stream;
}

void synchronize(int device) {
    set_device(device);
    WSOL_CUDA_CHECK(cudaStreamSynchronize(current_stream(device)));
}

const DeviceInfo& device_info(int device) {
    PerDevice& d = per_device(device);
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!d.info) {
        cudaDeviceProp prop{};
        WSOL_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
        auto info = std::make_unique<DeviceInfo>();
        info->name = prop.name;
        info->major = prop.major;
        info->minor = prop.minor;
        info->multiprocessors = prop.multiProcessorCount;
        info->total_memory = prop.totalGlobalMem;
        info->l2_cache_bytes = size_t(prop.l2CacheSize);
        info->max_shared_memory_per_block = prop.sharedMemPerBlockOptin;
        d.info = std::move(info);
    }
    return *d.info;
}

int grid_size(int64_t items, int threads, int device) {
    const int64_t needed = std::max<int64_t>(1, (items + threads - 1) / threads);
    // 2048 resident threads per multiprocessor on Hopper; four waves of them keep every memory
    // channel busy, and the grid-stride loop covers the rest.
    const int64_t cap = int64_t(device_info(device).multiprocessors) * (2048 / threads) * 4;
    return int(std::min(needed, cap));
}

EventTimer::EventTimer(int device) : device_(device) {
    set_device(device);
    WSOL_CUDA_CHECK(cudaEventCreate(&begin_));
    WSOL_CUDA_CHECK(cudaEventCreate(&end_));
}

EventTimer::~EventTimer() {
    if (begin_) cudaEventDestroy(begin_);
    if (end_) cudaEventDestroy(end_);
}

void EventTimer::start() { WSOL_CUDA_CHECK(cudaEventRecord(begin_, current_stream(device_))); }

float EventTimer::stop() {
    WSOL_CUDA_CHECK(cudaEventRecord(end_, current_stream(device_)));
    WSOL_CUDA_CHECK(cudaEventSynchronize(end_));
    float ms = 0.0f;
    WSOL_CUDA_CHECK(cudaEventElapsedTime(&ms, begin_, end_));
    return ms;
}

}  // namespace wsol::cuda
