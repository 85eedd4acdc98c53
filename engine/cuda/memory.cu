// Device memory, first version: cudaMalloc/cudaFree directly on the default stream.
#include "engine/cuda/check.h"
#include "engine/cuda/memory.h"

namespace wsol::cuda {

int device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();  // no driver or no device: report zero devices
        return 0;
    }
    return count;
}

void* device_malloc(size_t nbytes, int device) {
    WSOL_CUDA_CHECK(cudaSetDevice(device));
    void* ptr = nullptr;
    if (nbytes == 0) return nullptr;
    WSOL_CUDA_CHECK(cudaMalloc(&ptr, nbytes));
    return ptr;
}

void device_free(void* ptr, int device) {
    if (!ptr) return;
    cudaSetDevice(device);
    cudaFree(ptr);  // no throw from a destructor path
}

void memset_zero(void* ptr, size_t nbytes, int device) {
    if (nbytes == 0) return;
    WSOL_CUDA_CHECK(cudaSetDevice(device));
    WSOL_CUDA_CHECK(cudaMemset(ptr, 0, nbytes));
}

void memcpy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
    WSOL_CUDA_CHECK(cudaSetDevice(device));
    WSOL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice));
}

void memcpy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
    WSOL_CUDA_CHECK(cudaSetDevice(device));
    WSOL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost));
}

}  // namespace wsol::cuda
