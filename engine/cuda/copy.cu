// copy_into and add_into on one CUDA device.
//
// Same dtype, same element count, both contiguous: a raw byte copy in 16-byte vectors (the
// common case: contiguous(), clone, gradient buffers). Anything else - conversions, broadcasting,
// strided views - goes through the elementwise loops (engine/cuda/loops.cuh), which still use
// 16-byte vectors when both sides are contiguous.
#include "engine/cuda/copy.h"

#include "engine/cuda/loops.cuh"

namespace wsol::cuda {

namespace {

// dst[i] = src[i] for `n` 16-byte words, then the remaining `tail` bytes one by one.
__global__ void copy_bytes_kernel(uint4* dst, const uint4* src, int64_t n, char* dst_tail, const char* src_tail,
                                  int tail) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = first; i < n; i += step) dst[i] = src[i];
    if (first < tail) dst_tail[first] = src_tail[first];
}

struct Identity {
    template <class T>
    __device__ T operator()(T v) const {
        return v;
    }
};

struct AddValues {
    template <class T>
    __device__ T operator()(T a, T b) const {
        return a + b;
    }
};

}  // namespace

void copy_strided(const Tensor& dst, const Tensor& src) {
    const int64_t n = dst.numel();
    if (n == 0) return;
    const int device = dst.device().index;
    set_device(device);
    if (dst.dtype() == src.dtype() && plain(dst, n) && plain(src, n) && is_aligned(dst.raw_data(), 16) &&
        is_aligned(src.raw_data(), 16)) {
        const size_t bytes = size_t(n) * dst.element_size();
        const int64_t words = int64_t(bytes / 16);
        const int tail = int(bytes % 16);
        char* d = static_cast<char*>(dst.raw_data());
        const char* s = static_cast<const char*>(src.raw_data());
        copy_bytes_kernel<<<grid_size(std::max<int64_t>(words, tail), kBlockThreads, device), kBlockThreads, 0,
                            current_stream(device)>>>(reinterpret_cast<uint4*>(d), reinterpret_cast<const uint4*>(s), words,
                                                      d + words * 16, s + words * 16, tail);
        WSOL_CUDA_CHECK_LAUNCH();
        return;
    }
    dispatch_device(dst.dtype(), [&](auto dt) {
        using D = typename decltype(dt)::type;
        dispatch_device(src.dtype(), [&](auto st) {
            using S = typename decltype(st)::type;
            launch_unary<D, S>("copy", dst, src, Identity{});
        });
    });
}

void add_strided(const Tensor& dst, const Tensor& src) {
    dispatch_device(dst.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (is_float_type<T>) {
            launch_binary<T, T, T>("add_into", dst, dst, src, AddValues{});
        } else {
            WSOL_FAIL("add_into on CUDA: dtype ", dtype_name(dst.dtype()), " is not a floating type");
        }
    });
}

}  // namespace wsol::cuda
