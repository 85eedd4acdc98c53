// The GPU loops behind every elementwise kernel (the CUDA counterpart of engine/strided_loop.h).
//
//   launch_binary<float, float, float>("add", out, a, b, AddFunctor{});
//
// runs out[i] = f(a[i], b[i]) over out's shape with NumPy broadcasting. Two paths:
//   contiguous - every operand is contiguous with out's element count (no broadcasting) and
//                16-byte aligned: each thread loads and stores 16-byte vectors (4 floats, 8 bf16,
//                2 doubles), the fastest way through the memory system;
//   strided    - anything else, up to 8 dimensions after merging: each thread turns its linear
//                index into one offset per operand with fast division by the sizes.
// Functors see values in the compute type (bf16 and fp16 widen to float32, device_types.cuh) and
// return a value that is converted to the output type. All launches go to the device's stream.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "engine/cuda/device_types.cuh"
#include "engine/tensor.h"

namespace wsol::cuda {

inline constexpr int kMaxDims = 8;
inline constexpr int kBlockThreads = 256;

// n / d for a divisor fixed at launch time, as a multiply-high, an add and a shift instead of a
// (slow, emulated) integer division. Exact for every n < 2^31 (Granlund & Montgomery, "Division by
// invariant integers using multiplication", 1994): with s = ceil(log2 d) and
// m = floor(2^32 (2^s - d) / d) + 1, n / d = (mulhi(n, m) + n) >> s.
struct IntDivider {
    uint32_t divisor = 1;
    uint32_t magic = 1;
    uint32_t shift = 0;

    IntDivider() = default;
    explicit IntDivider(uint32_t d) : divisor(d) {
        while ((uint64_t(1) << shift) < d) ++shift;
        magic = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
    }
    __device__ __forceinline__ uint32_t div(uint32_t n) const { return (__umulhi(n, magic) + n) >> shift; }
};

// Linear index -> element offset of each of N operands (strides in elements, 0 where an operand is
// broadcast). Dimensions are stored innermost first.
template <int N>
struct OffsetCalculator {
    int ndim = 0;
    IntDivider sizes[kMaxDims];
    int64_t strides[kMaxDims][N] = {};

    __device__ __forceinline__ void get(uint32_t linear, int64_t (&offsets)[N]) const {
#pragma unroll
        for (int k = 0; k < N; ++k) offsets[k] = 0;
#pragma unroll
        for (int d = 0; d < kMaxDims; ++d) {
            if (d == ndim) break;
            const uint32_t q = sizes[d].div(linear);
            const uint32_t idx = linear - q * sizes[d].divisor;
#pragma unroll
            for (int k = 0; k < N; ++k) offsets[k] += int64_t(idx) * strides[d][k];
            linear = q;
        }
    }
};

// Builds the calculator for iterating `shape` over `operands` (each of `shape` or broadcasting to
// it): size-1 axes dropped, neighbouring axes merged when contiguous for every operand.
template <int N>
OffsetCalculator<N> make_offset_calculator(const char* op, const Shape& shape,
                                           const std::array<const Tensor*, N>& operands) {
    const int64_t numel = shape_numel(shape);
    WSOL_CHECK(numel <= INT32_MAX, op, " on CUDA: ", numel, " elements in a strided layout ", shape_str(shape),
               "; the strided path indexes with 31 bits (make the tensors contiguous)");
    struct Dim {
        int64_t size;
        std::array<int64_t, N> strides;
    };
    std::vector<Dim> dims;  // innermost first
    const size_t ndim = shape.size();
    for (size_t d = ndim; d-- > 0;) {
        if (shape[d] == 1) continue;
        Dim dim{shape[d], {}};
        for (int k = 0; k < N; ++k) {
            const Tensor& t = *operands[size_t(k)];
            const size_t lead = ndim - size_t(t.dim());
            dim.strides[size_t(k)] = (d >= lead && t.shape()[d - lead] != 1) ? t.strides()[d - lead] : 0;
        }
        if (!dims.empty()) {
            bool mergeable = true;
            for (int k = 0; k < N; ++k) {
                if (dim.strides[size_t(k)] != dims.back().strides[size_t(k)] * dims.back().size) mergeable = false;
            }
            if (mergeable) {
                dims.back().size *= dim.size;
                continue;
            }
        }
        dims.push_back(dim);
    }
    WSOL_CHECK(int(dims.size()) <= kMaxDims, op, " on CUDA: shape ", shape_str(shape), " has ", dims.size(),
               " dimensions that cannot be merged; at most ", kMaxDims, " are supported");
    OffsetCalculator<N> calc;
    calc.ndim = int(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
        calc.sizes[d] = IntDivider(uint32_t(dims[d].size));
        for (int k = 0; k < N; ++k) calc.strides[d][k] = dims[d].strides[size_t(k)];
    }
    return calc;
}

// A 16-byte (or smaller) bundle of VEC elements, loaded and stored with one instruction.
template <class T, int VEC>
struct alignas(sizeof(T) * VEC) Vec {
    T v[VEC];
};

// Elements per thread in the contiguous path: as many of the widest operand as fill 16 bytes.
template <class... Ts>
constexpr int vec_width() {
    return int(16 / std::max({sizeof(Ts)...}));
}

inline bool is_aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

// Contiguous with `n` elements in row-major order (so it lines up with a contiguous output).
inline bool plain(const Tensor& t, int64_t n) { return t.numel() == n && t.is_contiguous(); }

// ---- kernels ------------------------------------------------------------------------------------
// Grid-stride loops; the contiguous kernels handle the last n % VEC elements one by one.

template <int VEC, class O, class F>
__global__ void nullary_contiguous_kernel(O* out, int64_t n, F f) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = first; i < n / VEC; i += step) {
        Vec<O, VEC> vo;
#pragma unroll
        for (int j = 0; j < VEC; ++j) vo.v[j] = device_convert<O>(f());
        reinterpret_cast<Vec<O, VEC>*>(out)[i] = vo;
    }
    for (int64_t i = n / VEC * VEC + first; i < n; i += step) out[i] = device_convert<O>(f());
}

template <class O, class F>
__global__ void nullary_strided_kernel(O* out, OffsetCalculator<1> calc, uint32_t n, F f) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[1];
        calc.get(i, off);
        out[off[0]] = device_convert<O>(f());
    }
}

template <int VEC, class O, class A, class F>
__global__ void unary_contiguous_kernel(O* out, const A* a, int64_t n, F f) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = first; i < n / VEC; i += step) {
        const Vec<A, VEC> va = reinterpret_cast<const Vec<A, VEC>*>(a)[i];
        Vec<O, VEC> vo;
#pragma unroll
        for (int j = 0; j < VEC; ++j) vo.v[j] = device_convert<O>(f(to_compute(va.v[j])));
        reinterpret_cast<Vec<O, VEC>*>(out)[i] = vo;
    }
    for (int64_t i = n / VEC * VEC + first; i < n; i += step) out[i] = device_convert<O>(f(to_compute(a[i])));
}

template <class O, class A, class F>
__global__ void unary_strided_kernel(O* out, const A* a, OffsetCalculator<2> calc, uint32_t n, F f) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[2];
        calc.get(i, off);
        out[off[0]] = device_convert<O>(f(to_compute(a[off[1]])));
    }
}

template <int VEC, class O, class A, class B, class F>
__global__ void binary_contiguous_kernel(O* out, const A* a, const B* b, int64_t n, F f) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = first; i < n / VEC; i += step) {
        const Vec<A, VEC> va = reinterpret_cast<const Vec<A, VEC>*>(a)[i];
        const Vec<B, VEC> vb = reinterpret_cast<const Vec<B, VEC>*>(b)[i];
        Vec<O, VEC> vo;
#pragma unroll
        for (int j = 0; j < VEC; ++j) vo.v[j] = device_convert<O>(f(to_compute(va.v[j]), to_compute(vb.v[j])));
        reinterpret_cast<Vec<O, VEC>*>(out)[i] = vo;
    }
    for (int64_t i = n / VEC * VEC + first; i < n; i += step) {
        out[i] = device_convert<O>(f(to_compute(a[i]), to_compute(b[i])));
    }
}

template <class O, class A, class B, class F>
__global__ void binary_strided_kernel(O* out, const A* a, const B* b, OffsetCalculator<3> calc, uint32_t n, F f) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[3];
        calc.get(i, off);
        out[off[0]] = device_convert<O>(f(to_compute(a[off[1]]), to_compute(b[off[2]])));
    }
}

template <int VEC, class O, class A, class B, class C, class F>
__global__ void ternary_contiguous_kernel(O* out, const A* a, const B* b, const C* c, int64_t n, F f) {
    const int64_t step = int64_t(gridDim.x) * blockDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (int64_t i = first; i < n / VEC; i += step) {
        const Vec<A, VEC> va = reinterpret_cast<const Vec<A, VEC>*>(a)[i];
        const Vec<B, VEC> vb = reinterpret_cast<const Vec<B, VEC>*>(b)[i];
        const Vec<C, VEC> vc = reinterpret_cast<const Vec<C, VEC>*>(c)[i];
        Vec<O, VEC> vo;
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
            vo.v[j] = device_convert<O>(f(to_compute(va.v[j]), to_compute(vb.v[j]), to_compute(vc.v[j])));
        }
        reinterpret_cast<Vec<O, VEC>*>(out)[i] = vo;
    }
    for (int64_t i = n / VEC * VEC + first; i < n; i += step) {
        out[i] = device_convert<O>(f(to_compute(a[i]), to_compute(b[i]), to_compute(c[i])));
    }
}

template <class O, class A, class B, class C, class F>
__global__ void ternary_strided_kernel(O* out, const A* a, const B* b, const C* c, OffsetCalculator<4> calc,
                                       uint32_t n, F f) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[4];
        calc.get(i, off);
        out[off[0]] = device_convert<O>(f(to_compute(a[off[1]]), to_compute(b[off[2]]), to_compute(c[off[3]])));
    }
}

// ---- launchers ----------------------------------------------------------------------------------
// `op` names the operation in errors. Output and inputs must be on one device (the ops check).

template <class O, class F>
void launch_nullary(const char* op, const Tensor& out, F f) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int device = out.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    O* po = static_cast<O*>(out.raw_data());
    constexpr int VEC = vec_width<O>();
    if (plain(out, n) && is_aligned(po, VEC * sizeof(O))) {
        nullary_contiguous_kernel<VEC><<<grid_size((n + VEC - 1) / VEC, kBlockThreads, device), kBlockThreads, 0, stream>>>(
            po, n, f);
    } else {
        const auto calc = make_offset_calculator<1>(op, out.shape(), {&out});
        nullary_strided_kernel<<<grid_size(n, kBlockThreads, device), kBlockThreads, 0, stream>>>(po, calc, uint32_t(n), f);
    }
    WSOL_CUDA_CHECK_LAUNCH();
}

template <class O, class A, class F>
void launch_unary(const char* op, const Tensor& out, const Tensor& a, F f) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int device = out.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    O* po = static_cast<O*>(out.raw_data());
    const A* pa = static_cast<const A*>(a.raw_data());
    constexpr int VEC = vec_width<O, A>();
    if (plain(out, n) && plain(a, n) && is_aligned(po, VEC * sizeof(O)) && is_aligned(pa, VEC * sizeof(A))) {
        unary_contiguous_kernel<VEC><<<grid_size((n + VEC - 1) / VEC, kBlockThreads, device), kBlockThreads, 0, stream>>>(
            po, pa, n, f);
    } else {
        const auto calc = make_offset_calculator<2>(op, out.shape(), {&out, &a});
        unary_strided_kernel<<<grid_size(n, kBlockThreads, device), kBlockThreads, 0, stream>>>(po, pa, calc,
                                                                                               uint32_t(n), f);
    }
    WSOL_CUDA_CHECK_LAUNCH();
}

template <class O, class A, class B, class F>
void launch_binary(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, F f) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int device = out.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    O* po = static_cast<O*>(out.raw_data());
    const A* pa = static_cast<const A*>(a.raw_data());
    const B* pb = static_cast<const B*>(b.raw_data());
    constexpr int VEC = vec_width<O, A, B>();
    if (plain(out, n) && plain(a, n) && plain(b, n) && is_aligned(po, VEC * sizeof(O)) &&
        is_aligned(pa, VEC * sizeof(A)) && is_aligned(pb, VEC * sizeof(B))) {
        binary_contiguous_kernel<VEC><<<grid_size((n + VEC - 1) / VEC, kBlockThreads, device), kBlockThreads, 0, stream>>>(
            po, pa, pb, n, f);
    } else {
        const auto calc = make_offset_calculator<3>(op, out.shape(), {&out, &a, &b});
        binary_strided_kernel<<<grid_size(n, kBlockThreads, device), kBlockThreads, 0, stream>>>(po, pa, pb, calc,
                                                                                                uint32_t(n), f);
    }
    WSOL_CUDA_CHECK_LAUNCH();
}

template <class O, class A, class B, class C, class F>
void launch_ternary(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, F f) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int device = out.device().index;
    set_device(device);
    cudaStream_t stream = current_stream(device);
    O* po = static_cast<O*>(out.raw_data());
    const A* pa = static_cast<const A*>(a.raw_data());
    const B* pb = static_cast<const B*>(b.raw_data());
    const C* pc = static_cast<const C*>(c.raw_data());
    constexpr int VEC = vec_width<O, A, B, C>();
    if (plain(out, n) && plain(a, n) && plain(b, n) && plain(c, n) && is_aligned(po, VEC * sizeof(O)) &&
        is_aligned(pa, VEC * sizeof(A)) && is_aligned(pb, VEC * sizeof(B)) && is_aligned(pc, VEC * sizeof(C))) {
        ternary_contiguous_kernel<VEC>
            <<<grid_size((n + VEC - 1) / VEC, kBlockThreads, device), kBlockThreads, 0, stream>>>(po, pa, pb, pc, n, f);
    } else {
        const auto calc = make_offset_calculator<4>(op, out.shape(), {&out, &a, &b, &c});
        ternary_strided_kernel<<<grid_size(n, kBlockThreads, device), kBlockThreads, 0, stream>>>(po, pa, pb, pc, calc,
                                                                                                 uint32_t(n), f);
    }
    WSOL_CUDA_CHECK_LAUNCH();
}

}  // namespace wsol::cuda
