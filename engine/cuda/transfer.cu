// Host <-> device transfers through pinned (page-locked) staging buffers.
//
// The DMA engines can only read and write pinned host memory; a cudaMemcpy from ordinary
// (pageable) memory is staged by the driver through its own pinned buffer and blocks the host for
// the whole transfer. Staging ourselves lets a host-to-device copy return as soon as the bytes are
// in a pinned buffer (the transfer then runs in stream order while the host goes on), and lets a
// large transfer overlap the host memcpy of one chunk with the DMA of the next.
//
// Each device has a small pool of pinned buffers, each with an event that marks when the DMA that
// last used it has finished; a buffer is reused only after its event. The pool is guarded by one
// mutex per device (transfers from several threads are serialised, which they are on the bus anyway).
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"

namespace wsol::cuda {

namespace {

constexpr size_t kStagingBytes = size_t(4) << 20;  // per buffer
constexpr int kStagingBuffers = 4;

struct StagingBuffer {
    void* host = nullptr;
    cudaEvent_t done = nullptr;  // recorded after the last transfer that used this buffer
};

class StagingPool {
public:
    explicit StagingPool(int device) : device_(device) {}

    std::mutex& mutex() { return mutex_; }

    // The next buffer in round-robin order, once the transfer that last used it has finished.
    StagingBuffer& acquire() {
        StagingBuffer& b = buffers_[next_];
        next_ = (next_ + 1) % kStagingBuffers;
        if (!b.host) {
            set_device(device_);
            WSOL_CUDA_CHECK(cudaHostAlloc(&b.host, kStagingBytes, cudaHostAllocPortable));
            WSOL_CUDA_CHECK(cudaEventCreateWithFlags(&b.done, cudaEventDisableTiming));
        } else {
            WSOL_CUDA_CHECK(cudaEventSynchronize(b.done));
        }
        return b;
    }

private:
    int device_;
    std::mutex mutex_;
    StagingBuffer buffers_[kStagingBuffers];
    int next_ = 0;
};

StagingPool& staging_pool(int device) {
    static std::mutex mutex;
    static std::vector<StagingPool*>* pools = new std::vector<StagingPool*>();  // never destroyed
    std::lock_guard<std::mutex> lock(mutex);
    if (pools->empty()) pools->resize(size_t(device_count()), nullptr);
    WSOL_CHECK(device >= 0 && size_t(device) < pools->size(), "CUDA device ", device, " does not exist");
    StagingPool*& slot = (*pools)[size_t(device)];
    if (!slot) slot = new StagingPool(device);
    return *slot;
}

}  // namespace

void memcpy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
    if (nbytes == 0) return;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    StagingPool& pool = staging_pool(device);
    std::lock_guard<std::mutex> lock(pool.mutex());
    for (size_t done = 0; done < nbytes; done += kStagingBytes) {
        const size_t chunk = std::min(kStagingBytes, nbytes - done);
        StagingBuffer& b = pool.acquire();
        std::memcpy(b.host, static_cast<const char*>(src) + done, chunk);
        WSOL_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + done, b.host, chunk, cudaMemcpyHostToDevice, stream));
        WSOL_CUDA_CHECK(cudaEventRecord(b.done, stream));
    }
}

void memcpy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
    if (nbytes == 0) return;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    StagingPool& pool = staging_pool(device);
    std::lock_guard<std::mutex> lock(pool.mutex());
    // Keep up to two chunks in flight: while chunk i is copied out of its pinned buffer on the
    // host, chunk i+1 is already on the bus.
    struct InFlight {
        StagingBuffer* buffer;
        size_t offset, size;
    };
    std::vector<InFlight> queue;
    auto drain_one = [&] {
        InFlight f = queue.front();
        queue.erase(queue.begin());
        WSOL_CUDA_CHECK(cudaEventSynchronize(f.buffer->done));
        std::memcpy(static_cast<char*>(dst) + f.offset, f.buffer->host, f.size);
    };
    for (size_t done = 0; done < nbytes; done += kStagingBytes) {
        const size_t chunk = std::min(kStagingBytes, nbytes - done);
        if (queue.size() == 2) drain_one();
        StagingBuffer& b = pool.acquire();
        WSOL_CUDA_CHECK(cudaMemcpyAsync(b.host, static_cast<const char*>(src) + done, chunk, cudaMemcpyDeviceToHost, stream));
        WSOL_CUDA_CHECK(cudaEventRecord(b.done, stream));
        queue.push_back({&b, done, chunk});
    }
    while (!queue.empty()) drain_one();
}

}  // namespace wsol::cuda
