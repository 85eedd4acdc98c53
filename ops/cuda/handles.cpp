// Lazily created library handles, one per device, never destroyed (destroying them from static
// destructors races with the CUDA runtime's own teardown at exit).
#include "ops/cuda/handles.h"

#include <mutex>
#include <vector>

#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"

namespace wsol::cuda {

namespace {

struct Handles {
    cublasHandle_t cublas = nullptr;
    cudaStream_t cublas_stream = nullptr;
    cublasLtHandle_t cublaslt = nullptr;
    cudnnHandle_t cudnn = nullptr;
    cudaStream_t cudnn_stream = nullptr;
};

std::mutex g_mutex;

Handles& handles_of(int device) {
    static std::vector<Handles>* all = new std::vector<Handles>();
    WSOL_CHECK(device >= 0 && device < device_count(), "CUDA device ", device, " does not exist (", device_count(),
               " visible)");
    if (all->empty()) all->resize(size_t(device_count()));
    return (*all)[size_t(device)];
}

}  // namespace

cublasHandle_t cublas_handle(int device) {
    cudaStream_t stream = current_stream(device);
    std::lock_guard<std::mutex> lock(g_mutex);
    Handles& h = handles_of(device);
    set_device(device);
    if (!h.cublas) WSOL_CUBLAS_CHECK(cublasCreate(&h.cublas));
    if (h.cublas_stream != stream) {
        WSOL_CUBLAS_CHECK(cublasSetStream(h.cublas, stream));
        h.cublas_stream = stream;
    }
    return h.cublas;
}

cublasLtHandle_t cublaslt_handle(int device) {
    std::lock_guard<std::mutex> lock(g_mutex);
    Handles& h = handles_of(device);
    set_device(device);
    // A cuBLASLt handle has no stream: the stream is an argument of every cublasLtMatmul call.
    if (!h.cublaslt) WSOL_CUBLAS_CHECK(cublasLtCreate(&h.cublaslt));
    return h.cublaslt;
}

cudnnHandle_t cudnn_handle(int device) {
    cudaStream_t stream = current_stream(device);
    std::lock_guard<std::mutex> lock(g_mutex);
    Handles& h = handles_of(device);
    set_device(device);
    if (!h.cudnn) WSOL_CUDNN_CHECK(cudnnCreate(&h.cudnn));
    if (h.cudnn_stream != stream) {
        WSOL_CUDNN_CHECK(cudnnSetStream(h.cudnn, stream));
        h.cudnn_stream = stream;
    }
    return h.cudnn;
}

}  // namespace wsol::cuda
