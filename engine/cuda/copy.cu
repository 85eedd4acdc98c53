// Strided copy with conversion on the GPU: one thread per destination element, up to 8 dims.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "engine/cuda/check.h"
#include "engine/cuda/copy.h"

namespace wsol::cuda {

namespace {

constexpr int kMaxDims = 8;

struct Geometry {
    int ndim;
    int64_t sizes[kMaxDims];
    int64_t dst_strides[kMaxDims];
    int64_t src_strides[kMaxDims];
};

template <class T>
struct Tag {
    using type = T;
};

// Calls f(Tag<T>) with the device-side C++ type of a dtype (bf16 and fp16 as CUDA's own types).
template <class F>
void dispatch_device(DType dtype, F&& f) {
    switch (dtype) {
        case kFloat32: f(Tag<float>{}); return;
        case kFloat64: f(Tag<double>{}); return;
        case kBFloat16: f(Tag<__nv_bfloat16>{}); return;
        case kFloat16: f(Tag<__half>{}); return;
        case kInt32: f(Tag<int32_t>{}); return;
        case kInt64: f(Tag<int64_t>{}); return;
        case kUInt8: f(Tag<uint8_t>{}); return;
        case kBool: f(Tag<bool>{}); return;
    }
}

template <class To, class From>
__device__ inline To device_convert(From v) {
    if constexpr (std::is_same_v<To, From>) {
        return v;
    } else if constexpr (std::is_same_v<From, __nv_bfloat16>) {
        return device_convert<To>(__bfloat162float(v));
    } else if constexpr (std::is_same_v<From, __half>) {
        return device_convert<To>(__half2float(v));
    } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
        return __float2bfloat16_rn(static_cast<float>(v));
    } else if constexpr (std::is_same_v<To, __half>) {
        return __float2half_rn(static_cast<float>(v));
    } else if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else {
        return static_cast<To>(v);
    }
}

template <class D, class S>
__global__ void copy_kernel(D* dst, const S* src, Geometry g, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t rest = i, d_off = 0, s_off = 0;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t idx = rest % g.sizes[d];
            rest /= g.sizes[d];
            d_off += idx * g.dst_strides[d];
            s_off += idx * g.src_strides[d];
        }
        dst[d_off] = device_convert<D>(src[s_off]);
    }
}

template <class T>
__global__ void add_kernel(T* dst, const T* src, Geometry g, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        int64_t rest = i, d_off = 0, s_off = 0;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t idx = rest % g.sizes[d];
            rest /= g.sizes[d];
            d_off += idx * g.dst_strides[d];
            s_off += idx * g.src_strides[d];
        }
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
            dst[d_off] += src[s_off];
        } else {
            dst[d_off] = device_convert<T>(device_convert<float>(dst[d_off]) + device_convert<float>(src[s_off]));
        }
    }
}

Geometry make_geometry(const Tensor& dst, const Tensor& src) {
    WSOL_CHECK(dst.dim() <= kMaxDims, "copy on ", dst.device().str(), ": at most ", kMaxDims, " dimensions, got ",
               dst.dim());
    Geometry g{};
    g.ndim = int(dst.dim());
    const int64_t lead = dst.dim() - src.dim();
    for (int d = 0; d < g.ndim; ++d) {
        g.sizes[d] = dst.shape()[size_t(d)];
        g.dst_strides[d] = dst.strides()[size_t(d)];
        const bool broadcast = d < lead || src.shape()[size_t(d - lead)] == 1;
        g.src_strides[d] = broadcast ? 0 : src.strides()[size_t(d - lead)];
    }
    return g;
}

int grid_for(int64_t n, int threads) { return int(std::min<int64_t>((n + threads - 1) / threads, 65535)); }

}  // namespace

void add_strided(const Tensor& dst, const Tensor& src) {
    const Geometry g = make_geometry(dst, src);
    const int64_t n = dst.numel();
    if (n == 0) return;
    WSOL_CUDA_CHECK(cudaSetDevice(dst.device().index));
    dispatch_device(dst.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>) {
            add_kernel<T><<<grid_for(n, 256), 256>>>(static_cast<T*>(dst.raw_data()), static_cast<const T*>(src.raw_data()),
                                                     g, n);
        } else {
            WSOL_FAIL("add_into on CUDA: dtype ", dtype_name(dst.dtype()), " is not a floating type");
        }
    });
    WSOL_CUDA_CHECK_LAUNCH();
}

void copy_strided(const Tensor& dst, const Tensor& src) {
    const Geometry g = make_geometry(dst, src);
    const int64_t n = dst.numel();
    if (n == 0) return;
    WSOL_CUDA_CHECK(cudaSetDevice(dst.device().index));
    const int threads = 256;
    const int blocks = grid_for(n, threads);
    dispatch_device(dst.dtype(), [&](auto dt) {
        using D = typename decltype(dt)::type;
        dispatch_device(src.dtype(), [&](auto st) {
            using S = typename decltype(st)::type;
            copy_kernel<D, S><<<blocks, threads>>>(static_cast<D*>(dst.raw_data()),
                                                   static_cast<const S*>(src.raw_data()), g, n);
        });
    });
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace wsol::cuda
