// Internals shared by the attention kernels: the argument block every kernel takes, the tile
// geometry, and the launch helper. The CUDA-core kernels (all dtypes, ops/cuda/attention.cu) and
// the tensor-core kernels (bfloat16, ops/cuda/attention_tc.cu) both include it.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "engine/cuda/context.h"
#include "engine/cuda/loops.cuh"

namespace wsol::cuda::attention_detail {

inline constexpr int kTile = 64;      // queries and keys per tile
inline constexpr int kThreads = 128;  // 4 warps
inline constexpr float kLog2e = 1.4426950408889634f;
inline constexpr float kLn2 = 0.6931471805599453f;

struct View4 {  // element strides of a (B, H, N, D) tensor
    int64_t b, h, n, d;
};

template <class T>
struct Args {
    int B, H, Nq, Nk, D;
    float scale;
    const T* q;
    const T* k;
    const T* v;
    View4 qs, ks, vs;
    const T* gate;  // (B, Nk) or null
    int64_t gate_b, gate_n;
    // forward
    T* out;      // (B, H, Nq, D) contiguous
    float* lse;  // (B, H, Nq), natural log
    // backward
    const T* dout;
    View4 dos;
    const float* delta;  // (B, H, Nq): rowsum(dout * out)
    T* dq;               // contiguous, like q
    T* dk;
    T* dv;
    float* dgate;  // (B, H, Nk) or null
};

// The gate of the keys [key0, key0 + 64) of batch b (1 without gating, 0 beyond Nk).
template <class T>
__device__ __forceinline__ void load_gate(float* gate_tile, const Args<T>& a, int b, int key0) {
    for (int c = threadIdx.x; c < kTile; c += kThreads) {
        float g = 0.0f;
        if (key0 + c < a.Nk) g = a.gate ? float(to_compute(a.gate[b * a.gate_b + int64_t(key0 + c) * a.gate_n])) : 1.0f;
        gate_tile[c] = g;
    }
}

// Raises a kernel's dynamic shared memory limit (needed above 48 KB) and launches it.
template <class Kernel, class A>
void launch(Kernel kernel, dim3 grid, size_t smem, int device, const A& args) {
    WSOL_CHECK(smem <= device_info(device).max_shared_memory_per_block, "attention on CUDA: needs ", smem,
               " bytes of shared memory per block, the device offers ", device_info(device).max_shared_memory_per_block);
    WSOL_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    kernel<<<grid, kThreads, smem, current_stream(device)>>>(args);
    WSOL_CUDA_CHECK_LAUNCH();
}

// The tensor-core kernels (ops/cuda/attention_tc.cu), for bfloat16 and head dims up to 128.
void forward_tensor_cores(const Args<__nv_bfloat16>& a, int device);
// Needs a.delta already computed.
void backward_tensor_cores(const Args<__nv_bfloat16>& a, int device);

}  // namespace wsol::cuda::attention_detail
