// Fused attention kernels for the GPU (ops/cuda/attention.h), in the style of FlashAttention-2
// (Dao, 2023): the Nq x Nk score matrix never reaches device memory.
//
// Forward, one block per (b, h, tile of 64 queries): the query tile sits in shared memory while
// tiles of 64 keys/values stream through; each thread keeps 4 query rows x 8 key columns of the
// score tile in registers, and an "online softmax" keeps a running row maximum m and normaliser l
// so that the output can be accumulated before the whole row is known:
//   m' = max(m, rowmax(S_tile));  P = exp(S_tile - m');  l' = l e^(m - m') + rowsum(P);
//   O' = O e^(m - m') + (P * gate) V_tile
// and at the end out = O / l, lse = m + log l. The gate multiplies the probabilities after the
// normaliser has been taken (no renormalisation). Scores are kept in base 2 (q is pre-multiplied
// by scale * log2 e) so that exp is one exp2 instruction.
//
// Backward, recomputing P = exp(S - lse) tile by tile, in two kernels so that every output is
// written by exactly one block (no atomics, deterministic):
//   dkv:  one block per (b, h, tile of 64 keys), looping over query tiles:
//         dV += (P * gate)^T dO,  dA = dO V^T,  dgate_h += colsum(P * dA),
//         dS = P * (dA * gate - delta),  dK += scale dS^T Q;
//   dq:   one block per (b, h, tile of 64 queries), looping over key tiles: dQ += scale dS K;
// with delta = rowsum(dO * O) computed first (it equals rowsum(P * dP), see ops/attention.h).
//
// 128 threads per block as a 16 x 8 grid; thread (ty, tx) owns rows 4 ty .. 4 ty + 3 and columns
// tx + 8 j of every 64 x 64 tile, and columns tx + 8 j of every 64 x D accumulator, so a row's 8
// owners are 8 neighbouring lanes of one warp (row maxima and sums are 3 shuffles). Tiles live in
// shared memory as float, rows padded by one element so that both row and column walks are free of
// bank conflicts. Head dims up to 128 (compiled for 32, 64 and 128; smaller dims are zero-padded).
// These kernels compute on the CUDA cores in FP32 (every dtype); bfloat16 inputs go by default to
// the tensor-core version of the same algorithm in ops/cuda/attention_tc.cu.
#include "ops/cuda/attention.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/cuda/loops.cuh"
#include "ops/cuda/attention_common.cuh"

namespace wsol::cuda {

namespace {

using namespace attention_detail;

constexpr int kRowsPerThread = 4;
constexpr int kColsPerThread = 8;
constexpr int kPLd = kTile + 1;  // padded row length of the 64 x 64 tiles in shared memory

// Loads rows [row0, row0 + 64) of one (b, h) slice of a (B, H, N, D) tensor into a padded float
// tile, times `factor`; rows beyond n_rows and columns beyond D become 0.
template <class T, int DM>
__device__ __forceinline__ void load_tile(float* tile, const T* base, View4 s, int row0, int n_rows, int D,
                                          float factor) {
    for (int idx = threadIdx.x; idx < kTile * DM; idx += kThreads) {
        const int r = idx / DM, d = idx % DM;
        float value = 0.0f;
        if (row0 + r < n_rows && d < D) value = to_compute(base[int64_t(row0 + r) * s.n + int64_t(d) * s.d]) * factor;
        tile[r * (DM + 1) + d] = value;
    }
}

// Sum and max over the 8 lanes that own one row (lanes differing in their low 3 bits).
__device__ __forceinline__ float row_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    v += __shfl_xor_sync(0xffffffffu, v, 2);
    v += __shfl_xor_sync(0xffffffffu, v, 4);
    return v;
}
__device__ __forceinline__ float row_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 4));
    return v;
}

// acc[i][j] += sum_d X[4 ty + i][d] * Y[tx + 8 j][d]: a 64 x 64 tile of X Y^T (X, Y padded tiles).
template <int DM>
__device__ __forceinline__ void tile_xyt(float (&acc)[kRowsPerThread][kColsPerThread], const float* X, const float* Y,
                                         int D, int ty, int tx) {
    for (int d = 0; d < D; ++d) {
        float x[kRowsPerThread], y[kColsPerThread];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) x[i] = X[(ty * kRowsPerThread + i) * (DM + 1) + d];
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) y[j] = Y[(tx + 8 * j) * (DM + 1) + d];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
#pragma unroll
            for (int j = 0; j < kColsPerThread; ++j) acc[i][j] += x[i] * y[j];
        }
    }
}

// acc[i][j] += sum_c P[4 ty + i][c] * Z[c][tx + 8 j] over c < n: a 64 x D tile of P Z, with P a
// padded 64 x 64 tile and Z a padded 64 x DM tile.
template <int DM>
__device__ __forceinline__ void tile_pz(float (&acc)[kRowsPerThread][DM / 8], const float* P, const float* Z, int n,
                                        int ty, int tx) {
    for (int c = 0; c < n; ++c) {
        float p[kRowsPerThread], z[DM / 8];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) p[i] = P[(ty * kRowsPerThread + i) * kPLd + c];
#pragma unroll
        for (int j = 0; j < DM / 8; ++j) z[j] = Z[c * (DM + 1) + tx + 8 * j];
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
#pragma unroll
            for (int j = 0; j < DM / 8; ++j) acc[i][j] += p[i] * z[j];
        }
    }
}

// Writes a 64 x D accumulator tile (times `factor`) to rows [row0, row0 + 64) of a contiguous
// (B, H, N, D) tensor's slice `base`.
template <class T, int DM>
__device__ __forceinline__ void store_tile(T* base, const float (&acc)[kRowsPerThread][DM / 8], int row0, int n_rows,
                                           int D, int ty, int tx, float factor) {
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
        const int r = row0 + ty * kRowsPerThread + i;
        if (r >= n_rows) continue;
#pragma unroll
        for (int j = 0; j < DM / 8; ++j) {
            const int d = tx + 8 * j;
            if (d < D) base[int64_t(r) * D + d] = device_convert<T>(acc[i][j] * factor);
        }
    }
}

template <int DM>
__host__ __device__ constexpr size_t tile_floats() {
    return size_t(kTile) * (DM + 1);
}

// ---- forward --------------------------------------------------------------------------------------

template <int DM>
constexpr size_t forward_smem() {
    return (3 * tile_floats<DM>() + size_t(kTile) * kPLd + kTile) * sizeof(float);
}

template <class T, int DM>
__global__ void __launch_bounds__(kThreads) attention_forward_kernel(Args<T> a) {
    extern __shared__ float smem[];
    float* Qs = smem;
    float* Ks = Qs + tile_floats<DM>();
    float* Vs = Ks + tile_floats<DM>();
    float* Ps = Vs + tile_floats<DM>();
    float* gs = Ps + kTile * kPLd;
    const int ty = threadIdx.x / 8, tx = threadIdx.x % 8;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int q0 = blockIdx.y * kTile;

    load_tile<T, DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D, a.scale * kLog2e);
    float m[kRowsPerThread], l[kRowsPerThread], o[kRowsPerThread][DM / 8];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < DM / 8; ++j) o[i][j] = 0.0f;
    }
    for (int k0 = 0; k0 < a.Nk; k0 += kTile) {
        __syncthreads();  // the previous tile is no longer read
        load_tile<T, DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D, 1.0f);
        load_tile<T, DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D, 1.0f);
        load_gate(gs, a, b, k0);
        __syncthreads();
        float s[kRowsPerThread][kColsPerThread] = {};
        tile_xyt<DM>(s, Qs, Ks, a.D, ty, tx);  // base-2 scores
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) {
            if (k0 + tx + 8 * j >= a.Nk) {
#pragma unroll
                for (int i = 0; i < kRowsPerThread; ++i) s[i][j] = -INFINITY;
            }
        }
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
            float mx = s[i][0];
#pragma unroll
            for (int j = 1; j < kColsPerThread; ++j) mx = fmaxf(mx, s[i][j]);
            const float m_new = fmaxf(m[i], row_max(mx));  // finite: every key tile has a valid column
            const float rescale = exp2f(m[i] - m_new);       // 0 on the first tile (m = -inf)
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < kColsPerThread; ++j) {
                s[i][j] = exp2f(s[i][j] - m_new);
                sum += s[i][j];
            }
            l[i] = l[i] * rescale + row_sum(sum);
            m[i] = m_new;
#pragma unroll
            for (int j = 0; j < DM / 8; ++j) o[i][j] *= rescale;
#pragma unroll
            for (int j = 0; j < kColsPerThread; ++j) {
                Ps[(ty * kRowsPerThread + i) * kPLd + tx + 8 * j] = s[i][j] * gs[tx + 8 * j];  // gated, unnormalised
            }
        }
        __syncthreads();
        tile_pz<DM>(o, Ps, Vs, ::min(kTile, a.Nk - k0), ty, tx);
    }
    // out = O / l; lse = (m + log2 l) ln 2 in natural-log units.
    const int64_t slice = int64_t(bh) * a.Nq;
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) {
        const int r = q0 + ty * kRowsPerThread + i;
        if (r >= a.Nq) continue;
        const float inv = 1.0f / l[i];
#pragma unroll
        for (int j = 0; j < DM / 8; ++j) {
            const int d = tx + 8 * j;
            if (d < a.D) a.out[(slice + r) * a.D + d] = device_convert<T>(o[i][j] * inv);
        }
        if (tx == 0) a.lse[slice + r] = (m[i] + log2f(l[i])) * kLn2;
    }
}

// ---- backward -------------------------------------------------------------------------------------

// delta[b, h, i] = sum_d dout[b, h, i, d] * out[b, h, i, d]: one warp per row.
template <class T>
__global__ void attention_delta_kernel(Args<T> a, float* delta) {
    const int lane = threadIdx.x % 32;
    const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;  // over B * H * Nq
    if (row >= int64_t(a.B) * a.H * a.Nq) return;
    const int64_t bh = row / a.Nq;
    const int i = int(row % a.Nq);
    const int b = int(bh / a.H), h = int(bh % a.H);
    const T* dout = a.dout + b * a.dos.b + h * a.dos.h + int64_t(i) * a.dos.n;
    const T* out = a.out + row * a.D;
    float sum = 0.0f;
    for (int d = lane; d < a.D; d += 32) sum += float(to_compute(dout[int64_t(d) * a.dos.d])) * float(to_compute(out[d]));
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) delta[row] = sum;
}

template <int DM>
constexpr size_t backward_kv_smem() {
    return (4 * tile_floats<DM>() + 2 * size_t(kTile) * kPLd + 3 * kTile) * sizeof(float);
}

// One block per (b, h, 64 keys): dK, dV and the per-head gate gradient of those keys.
template <class T, int DM>
__global__ void __launch_bounds__(kThreads) attention_backward_kv_kernel(Args<T> a) {
    extern __shared__ float smem[];
    float* Ks = smem;
    float* Vs = Ks + tile_floats<DM>();
    float* Qs = Vs + tile_floats<DM>();
    float* dOs = Qs + tile_floats<DM>();
    float* PTs = dOs + tile_floats<DM>();  // (P * gate)^T: [key][query]
    float* dSTs = PTs + kTile * kPLd;      // dS^T: [key][query]
    float* lse_s = dSTs + kTile * kPLd;    // base-2 log-sum-exp of the query tile
    float* delta_s = lse_s + kTile;
    float* gs = delta_s + kTile;
    const int ty = threadIdx.x / 8, tx = threadIdx.x % 8;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int k0 = blockIdx.y * kTile;

    load_tile<T, DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D, 1.0f);
    load_tile<T, DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D, 1.0f);
    load_gate(gs, a, b, k0);
    float dk[kRowsPerThread][DM / 8] = {}, dv[kRowsPerThread][DM / 8] = {}, dgate[kRowsPerThread] = {};
    const int64_t slice = int64_t(bh) * a.Nq;
    for (int q0 = 0; q0 < a.Nq; q0 += kTile) {
        __syncthreads();
        // Q scaled into base-2 units, so that S^T = K Q^T is directly the exponent of exp2.
        load_tile<T, DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D, a.scale * kLog2e);
        load_tile<T, DM>(dOs, a.dout + b * a.dos.b + h * a.dos.h, a.dos, q0, a.Nq, a.D, 1.0f);
        for (int r = threadIdx.x; r < kTile; r += kThreads) {
            const bool valid = q0 + r < a.Nq;
            lse_s[r] = valid ? a.lse[slice + q0 + r] * kLog2e : 0.0f;
            delta_s[r] = valid ? a.delta[slice + q0 + r] : 0.0f;
        }
        __syncthreads();
        float st[kRowsPerThread][kColsPerThread] = {}, dat[kRowsPerThread][kColsPerThread] = {};
        tile_xyt<DM>(st, Ks, Qs, a.D, ty, tx);    // S^T (base 2): [key][query]
        tile_xyt<DM>(dat, Vs, dOs, a.D, ty, tx);  // dA^T = V dO^T
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
            const int c = ty * kRowsPerThread + i;  // key
#pragma unroll
            for (int j = 0; j < kColsPerThread; ++j) {
                const int r = tx + 8 * j;  // query
                const bool valid = k0 + c < a.Nk && q0 + r < a.Nq;
                const float p = valid ? exp2f(st[i][j] - lse_s[r]) : 0.0f;
                dgate[i] += p * dat[i][j];
                PTs[c * kPLd + r] = p * gs[c];
                dSTs[c * kPLd + r] = p * (dat[i][j] * gs[c] - delta_s[r]);
            }
        }
        __syncthreads();
        const int n = ::min(kTile, a.Nq - q0);
        tile_pz<DM>(dv, PTs, dOs, n, ty, tx);
        tile_pz<DM>(dk, dSTs, Qs, n, ty, tx);  // Q carries scale * log2 e: undone below with ln 2
    }
    const int64_t kslice = int64_t(bh) * a.Nk;
    store_tile<T, DM>(a.dk + kslice * a.D, dk, k0, a.Nk, a.D, ty, tx, kLn2);
    store_tile<T, DM>(a.dv + kslice * a.D, dv, k0, a.Nk, a.D, ty, tx, 1.0f);
    if (a.dgate) {
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
            const float total = row_sum(dgate[i]);
            const int c = k0 + ty * kRowsPerThread + i;
            if (tx == 0 && c < a.Nk) a.dgate[kslice + c] = total;
        }
    }
}

template <int DM>
constexpr size_t backward_q_smem() {
    return (4 * tile_floats<DM>() + size_t(kTile) * kPLd + 3 * kTile) * sizeof(float);
}

// One block per (b, h, 64 queries): dQ.
template <class T, int DM>
__global__ void __launch_bounds__(kThreads) attention_backward_q_kernel(Args<T> a) {
    extern __shared__ float smem[];
    float* Qs = smem;
    float* dOs = Qs + tile_floats<DM>();
    float* Ks = dOs + tile_floats<DM>();
    float* Vs = Ks + tile_floats<DM>();
    float* dSs = Vs + tile_floats<DM>();  // [query][key]
    float* lse_s = dSs + kTile * kPLd;
    float* delta_s = lse_s + kTile;
    float* gs = delta_s + kTile;
    const int ty = threadIdx.x / 8, tx = threadIdx.x % 8;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int q0 = blockIdx.y * kTile;
    const int64_t slice = int64_t(bh) * a.Nq;

    load_tile<T, DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D, a.scale * kLog2e);
    load_tile<T, DM>(dOs, a.dout + b * a.dos.b + h * a.dos.h, a.dos, q0, a.Nq, a.D, 1.0f);
    for (int r = threadIdx.x; r < kTile; r += kThreads) {
        const bool valid = q0 + r < a.Nq;
        lse_s[r] = valid ? a.lse[slice + q0 + r] * kLog2e : 0.0f;
        delta_s[r] = valid ? a.delta[slice + q0 + r] : 0.0f;
    }
    float dq[kRowsPerThread][DM / 8] = {};
    for (int k0 = 0; k0 < a.Nk; k0 += kTile) {
        __syncthreads();
        load_tile<T, DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D, 1.0f);
        load_tile<T, DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D, 1.0f);
        load_gate(gs, a, b, k0);
        __syncthreads();
        float s[kRowsPerThread][kColsPerThread] = {}, da[kRowsPerThread][kColsPerThread] = {};
        tile_xyt<DM>(s, Qs, Ks, a.D, ty, tx);    // S (base 2): [query][key]
        tile_xyt<DM>(da, dOs, Vs, a.D, ty, tx);  // dA = dO V^T
#pragma unroll
        for (int i = 0; i < kRowsPerThread; ++i) {
            const int r = ty * kRowsPerThread + i;
#pragma unroll
            for (int j = 0; j < kColsPerThread; ++j) {
                const int c = tx + 8 * j;
                const bool valid = q0 + r < a.Nq && k0 + c < a.Nk;
                const float p = valid ? exp2f(s[i][j] - lse_s[r]) : 0.0f;
                dSs[r * kPLd + c] = p * (da[i][j] * gs[c] - delta_s[r]);
            }
        }
        __syncthreads();
        tile_pz<DM>(dq, dSs, Ks, ::min(kTile, a.Nk - k0), ty, tx);
    }
    store_tile<T, DM>(a.dq + slice * a.D, dq, q0, a.Nq, a.D, ty, tx, a.scale);
}

// ---- launch ---------------------------------------------------------------------------------------

View4 view_of(const Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}; }

template <class T>
Args<T> make_args(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate, double scale) {
    Args<T> a{};
    a.B = int(q.size(0));
    a.H = int(q.size(1));
    a.Nq = int(q.size(2));
    a.Nk = int(k.size(2));
    a.D = int(q.size(3));
    a.scale = float(scale);
    a.q = static_cast<const T*>(q.raw_data());
    a.k = static_cast<const T*>(k.raw_data());
    a.v = static_cast<const T*>(v.raw_data());
    a.qs = view_of(q);
    a.ks = view_of(k);
    a.vs = view_of(v);
    if (gate.defined()) {
        a.gate = static_cast<const T*>(gate.raw_data());
        a.gate_b = gate.stride(0);
        a.gate_n = gate.stride(1);
    }
    return a;
}

void check_cuda_inputs(const char* pass, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate) {
    WSOL_CHECK(q.dtype() == kFloat32 || q.dtype() == kBFloat16, "attention ", pass, " on CUDA: dtype ",
               dtype_name(q.dtype()), " is not supported (float32, bfloat16 are)");
    WSOL_CHECK(q.size(3) <= 128, "attention ", pass, " on CUDA: head dim ", q.size(3), " is above 128");
    WSOL_CHECK(q.size(0) * q.size(1) < INT32_MAX && q.size(2) < INT32_MAX && k.size(2) < INT32_MAX, "attention ", pass,
               " on CUDA: sizes ", shape_str(q.shape()), " / ", shape_str(k.shape()), " too large");
    WSOL_CHECK(!gate.defined() || gate.dtype() == q.dtype(), "attention on CUDA: the gate must have q's dtype");
    (void)v;
}

// Calls f(Tag<T>{}, std::integral_constant<int, DM>{}) for the dtype and the padded head dim.
template <class F>
void dispatch_attention(DType dtype, int64_t D, F&& f) {
    auto with_dim = [&](auto tag) {
        if (D <= 32) return f(tag, std::integral_constant<int, 32>{});
        if (D <= 64) return f(tag, std::integral_constant<int, 64>{});
        return f(tag, std::integral_constant<int, 128>{});
    };
    if (dtype == kFloat32) return with_dim(Tag<float>{});
    return with_dim(Tag<__nv_bfloat16>{});
}

std::atomic<int> g_tensor_cores{-1};  // -1: not decided yet (read WSOL_ATTENTION_SIMT once)

}  // namespace

bool attention_tensor_cores() {
    int value = g_tensor_cores.load(std::memory_order_relaxed);
    if (value < 0) {
        const char* simt = std::getenv("WSOL_ATTENTION_SIMT");
        value = simt && std::string(simt) != "0" ? 0 : 1;
        g_tensor_cores.store(value, std::memory_order_relaxed);
    }
    return value == 1;
}

void set_attention_tensor_cores(bool enabled) { g_tensor_cores.store(enabled ? 1 : 0, std::memory_order_relaxed); }

void attention_forward(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& gate, double scale) {
    check_cuda_inputs("forward", q, k, v, gate);
    WSOL_CHECK(out.is_contiguous() && lse.is_contiguous() && lse.dtype() == kFloat32, "attention on CUDA: out and "
               "lse must be contiguous, lse float32");
    const int device = q.device().index;
    set_device(device);
    dispatch_attention(q.dtype(), q.size(3), [&](auto tag, auto dim) {
        using T = typename decltype(tag)::type;
        constexpr int DM = decltype(dim)::value;
        Args<T> a = make_args<T>(q, k, v, gate, scale);
        a.out = static_cast<T*>(out.raw_data());
        a.lse = static_cast<float*>(lse.raw_data());
        if constexpr (std::is_same_v<T, __nv_bfloat16>) {
            if (attention_tensor_cores()) return forward_tensor_cores(a, device);
        }
        const dim3 grid{unsigned(a.B * a.H), unsigned((a.Nq + kTile - 1) / kTile)};
        launch(attention_forward_kernel<T, DM>, grid, forward_smem<DM>(), device, a);
    });
}

void attention_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads,
                        const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate,
                        const Tensor& out, const Tensor& lse, double scale) {
    check_cuda_inputs("backward", q, k, v, gate);
    WSOL_CHECK(dq.is_contiguous() && dk.is_contiguous() && dv.is_contiguous() && out.is_contiguous() &&
                   lse.is_contiguous() && dout.dim() == 4 && dout.dtype() == q.dtype(),
               "attention backward on CUDA: gradients, out and lse must be contiguous and dout (B, H, Nq, D) of q's dtype");
    WSOL_CHECK(!dgate_heads.defined() || (dgate_heads.is_contiguous() && dgate_heads.dtype() == kFloat32),
               "attention backward on CUDA: dgate_heads must be contiguous float32");
    const int device = q.device().index;
    set_device(device);
    Tensor delta = Tensor::empty({q.size(0), q.size(1), q.size(2)}, kFloat32, q.device());
    dispatch_attention(q.dtype(), q.size(3), [&](auto tag, auto dim) {
        using T = typename decltype(tag)::type;
        constexpr int DM = decltype(dim)::value;
        Args<T> a = make_args<T>(q, k, v, gate, scale);
        a.out = static_cast<T*>(out.raw_data());
        a.lse = static_cast<float*>(lse.raw_data());
        a.dout = static_cast<const T*>(dout.raw_data());
        a.dos = view_of(dout);
        a.delta = static_cast<const float*>(delta.raw_data());
        a.dq = static_cast<T*>(dq.raw_data());
        a.dk = static_cast<T*>(dk.raw_data());
        a.dv = static_cast<T*>(dv.raw_data());
        a.dgate = gate.defined() && dgate_heads.defined() ? static_cast<float*>(dgate_heads.raw_data()) : nullptr;

        const int64_t rows = int64_t(a.B) * a.H * a.Nq;
        const int rows_per_block = kBlockThreads / 32;
        attention_delta_kernel<T><<<unsigned((rows + rows_per_block - 1) / rows_per_block), kBlockThreads, 0,
                                    current_stream(device)>>>(a, static_cast<float*>(delta.raw_data()));
        WSOL_CUDA_CHECK_LAUNCH();
        if constexpr (std::is_same_v<T, __nv_bfloat16>) {
            if (attention_tensor_cores()) return backward_tensor_cores(a, device);
        }
        const unsigned bh = unsigned(a.B * a.H);
        launch(attention_backward_kv_kernel<T, DM>, dim3(bh, unsigned((a.Nk + kTile - 1) / kTile)), backward_kv_smem<DM>(),
               device, a);
        launch(attention_backward_q_kernel<T, DM>, dim3(bh, unsigned((a.Nq + kTile - 1) / kTile)), backward_q_smem<DM>(),
               device, a);
    });
    for (const Tensor& t : {dq, dk, dv, dgate_heads}) {
        if (t.defined()) t.storage()->bump_version();
    }
}

}  // namespace wsol::cuda
