// Device memory: one CachingAllocator per device over cudaMalloc/cudaFree. The allocators live for
// the whole process and are never destroyed (tensors held in static objects may be freed after
// main returns, and the CUDA runtime may already be gone then; the driver reclaims everything at
// exit anyway).
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"

namespace wsol::cuda {

namespace {

class CudaBackend final : public CachingAllocator::Backend {
public:
    explicit CudaBackend(int device) : device_(device) {}

    void* raw_allocate(size_t nbytes) override {
        set_device(device_);
        void* ptr = nullptr;
        const cudaError_t status = cudaMalloc(&ptr, nbytes);
        if (status == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();  // clear the error so that the retry (and later calls) start clean
            return nullptr;
        }
        WSOL_CUDA_CHECK(status);
        return ptr;
    }

    void raw_free(void* ptr) noexcept override {
        // Through set_device, which keeps the thread's current-device cache right: a bare
        // cudaSetDevice here would leave it naming another device, and a later set_device() to that
        // device would then do nothing.
        try {
            set_device(device_);
        } catch (...) {
            return;  // e.g. during process teardown: nothing useful to report, the memory goes with the process
        }
        cudaFree(ptr);  // errors here cannot be reported usefully either
    }

    std::string describe() const override {
        size_t free_bytes = 0, total_bytes = 0;
        set_device(device_);
        if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
            (void)cudaGetLastError();
            return "cuda:" + std::to_string(device_);
        }
        char text[128];
        std::snprintf(text, sizeof(text), "cuda:%d (%.2f GiB total, %.2f GiB free)", device_,
                      double(total_bytes) / double(1 << 30), double(free_bytes) / double(1 << 30));
        return text;
    }

private:
    int device_;
};

CachingAllocator& allocator(int device) {
    static std::mutex mutex;
    static std::vector<CachingAllocator*>* allocators = new std::vector<CachingAllocator*>();
    WSOL_CHECK(device >= 0 && device < device_count(), "CUDA device ", device, " does not exist (", device_count(),
               " visible)");
    std::lock_guard<std::mutex> lock(mutex);
    if (allocators->empty()) allocators->resize(size_t(device_count()), nullptr);
    CachingAllocator*& slot = (*allocators)[size_t(device)];
    if (!slot) slot = new CachingAllocator(std::make_unique<CudaBackend>(device));
    return *slot;
}

}  // namespace

int device_count() {
    static const int count = [] {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            (void)cudaGetLastError();  // no driver or no device: report zero devices
            return 0;
        }
        return n;
    }();
    return count;
}

void* device_malloc(size_t nbytes, int device) {
    if (nbytes == 0) return nullptr;
    return allocator(device).allocate(nbytes, current_stream(device));
}

void device_free(void* ptr, int device) noexcept {
    if (!ptr) return;
    try {
        allocator(device).free(ptr);
    } catch (...) {
        // allocator() only throws for a device that does not exist, which cannot own `ptr`.
    }
}

void empty_cache(int device) {
    synchronize(device);  // blocks freed moments ago may still be read by queued kernels
    allocator(device).empty_cache();
}

MemoryStats memory_stats(int device) { return allocator(device).stats(); }
void reset_peak_memory_stats(int device) { allocator(device).reset_peak(); }

void memset_zero(void* ptr, size_t nbytes, int device) {
    if (nbytes == 0) return;
    set_device(device);
    WSOL_CUDA_CHECK(cudaMemsetAsync(ptr, 0, nbytes, current_stream(device)));
}

}  // namespace wsol::cuda
