// Tensor-core attention kernels for bfloat16 (the default for bf16 in ops/cuda/attention.h): the
// algorithm of ops/cuda/attention.cu - online softmax forward saving the log-sum-exp, backward in a
// key kernel (dK, dV, per-head dgate) and a query kernel (dQ) - with every tile product done by the
// tensor cores through WMMA (16 x 16 x 16 bf16 fragments, float32 accumulation).
//
// Each of the 4 warps of a block owns 16 rows of the block's 64 (queries in the forward and dQ
// kernels, keys in the dK/dV kernel) and works alone on them between the block-wide tile loads:
//   1. score-like tiles (S = Q K^T, dA = dO V^T, 16 x 64 per warp) are accumulated in fragments and
//      stored to the warp's float scratch in shared memory;
//   2. two lanes per row read them back, do the softmax / gating / gradient arithmetic in float32
//      and write bf16 operand tiles (P, dS) to the warp's scratch - bf16 operands for the second
//      products, as FlashAttention does;
//   3. the second products (P V, P^T dO, dS^T Q, dS K) accumulate in fragments. The forward output
//      needs a per-row rescale after every key tile, which WMMA fragments do not allow (their
//      element-to-row mapping is unspecified), so it lives in shared memory and is loaded into an
//      accumulator fragment around each product; the gradients need no rescale and stay in registers.
// Tiles are stored as bf16 rows padded by 8 elements (16 bytes), which keeps every fragment pointer
// 32-byte aligned and every leading dimension a multiple of 8 as WMMA requires.
#include <mma.h>

#include "ops/cuda/attention_common.cuh"

namespace wsol::cuda::attention_detail {

namespace {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;

constexpr int kWarpRows = 16;           // rows per warp
constexpr int kPLd = kTile + 8;         // bf16 P / dS scratch row length
template <int DM>
constexpr int kHLd = DM + 8;            // bf16 Q/K/V/dO tile row length
template <int DM>
constexpr int kSLd = (DM > kTile ? DM : kTile) + 4;  // float scratch row length (scores, outputs)

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Carves 128-byte aligned arrays out of the dynamic shared memory.
struct Carver {
    char* p;
    template <class T>
    __device__ T* take(size_t count) {
        T* out = reinterpret_cast<T*>(p);
        p += (count * sizeof(T) + 127) / 128 * 128;
        return out;
    }
};
__host__ __device__ constexpr size_t aligned_bytes(size_t bytes) { return (bytes + 127) / 128 * 128; }

// Rows [row0, row0 + 64) of one (b, h) slice into a bf16 tile; zeros beyond n_rows and D.
template <int DM>
__device__ __forceinline__ void load_tile_bf16(bf16* tile, const bf16* base, View4 s, int row0, int n_rows, int D) {
    for (int idx = threadIdx.x; idx < kTile * DM; idx += kThreads) {
        const int r = idx / DM, d = idx % DM;
        bf16 value = __float2bfloat16_rn(0.0f);
        if (row0 + r < n_rows && d < D) value = base[int64_t(row0 + r) * s.n + int64_t(d) * s.d];
        tile[r * kHLd<DM> + d] = value;
    }
}

// out (16 x 64 float, ld kSLd) = X[x_row0 .. +16] Y[0 .. 64]^T over DM: X and Y bf16 tiles.
template <int DM>
__device__ __forceinline__ void rows_times_tile_t(float* out, const bf16* X, const bf16* Y) {
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j) {
        FragC acc;
        wmma::fill_fragment(acc, 0.0f);
#pragma unroll
        for (int kk = 0; kk < DM / 16; ++kk) {
            FragA a;
            FragBCol b;  // Y^T: element (d, n) is Y[n][d]
            wmma::load_matrix_sync(a, X + kk * 16, kHLd<DM>);
            wmma::load_matrix_sync(b, Y + j * 16 * kHLd<DM> + kk * 16, kHLd<DM>);
            wmma::mma_sync(acc, a, b, acc);
        }
        wmma::store_matrix_sync(out + j * 16, acc, kSLd<DM>, wmma::mem_row_major);
    }
}

// acc[d-block] += P (16 x 64 bf16, ld kPLd) Z (64 x DM bf16 tile).
template <int DM>
__device__ __forceinline__ void accumulate_p_times_tile(FragC (&acc)[DM / 16], const bf16* P, const bf16* Z) {
#pragma unroll
    for (int kk = 0; kk < kTile / 16; ++kk) {
        FragA a;
        wmma::load_matrix_sync(a, P + kk * 16, kPLd);
#pragma unroll
        for (int jd = 0; jd < DM / 16; ++jd) {
            FragBRow b;
            wmma::load_matrix_sync(b, Z + kk * 16 * kHLd<DM> + jd * 16, kHLd<DM>);
            wmma::mma_sync(acc[jd], a, b, acc[jd]);
        }
    }
}

// Writes 16 rows (row0 + r < n_rows) x D columns of a float scratch (ld kSLd), times `factor`, to a
// contiguous (.., N, D) slice; two lanes per row.
template <int DM>
__device__ __forceinline__ void store_rows(bf16* base, const float* scratch, int row0, int n_rows, int D, float factor) {
    const int lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    if (row0 + r >= n_rows) return;
    for (int d = half * (DM / 2); d < (half + 1) * (DM / 2) && d < D; ++d) {
        base[int64_t(row0 + r) * D + d] = __float2bfloat16_rn(scratch[r * kSLd<DM> + d] * factor);
    }
}

// Stores gradient fragments through the scratch and writes them out.
template <int DM>
__device__ __forceinline__ void store_fragments(bf16* base, float* scratch, FragC (&acc)[DM / 16], int row0, int n_rows,
                                                int D, float factor) {
#pragma unroll
    for (int jd = 0; jd < DM / 16; ++jd) wmma::store_matrix_sync(scratch + jd * 16, acc[jd], kSLd<DM>, wmma::mem_row_major);
    __syncwarp();
    store_rows<DM>(base, scratch, row0, n_rows, D, factor);
}

// ---- forward --------------------------------------------------------------------------------------

template <int DM>
constexpr size_t forward_smem() {
    return 3 * aligned_bytes(size_t(kTile) * kHLd<DM> * sizeof(bf16))                  // Q, K, V
           + aligned_bytes(size_t(kTile) * kSLd<DM> * sizeof(float))                    // scores
           + aligned_bytes(size_t(kTile) * kSLd<DM> * sizeof(float))                    // output accumulator
           + aligned_bytes(size_t(kTile) * kPLd * sizeof(bf16)) + aligned_bytes(kTile * sizeof(float));  // P, gate
}

template <int DM>
__global__ void __launch_bounds__(kThreads) forward_kernel(Args<bf16> a) {
    extern __shared__ __align__(128) char smem[];
    Carver carve{smem};
    bf16* Qs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Ks = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Vs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    float* S = carve.take<float>(size_t(kTile) * kSLd<DM>);
    float* O = carve.take<float>(size_t(kTile) * kSLd<DM>);
    bf16* P = carve.take<bf16>(size_t(kTile) * kPLd);
    float* gs = carve.take<float>(kTile);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int q0 = blockIdx.y * kTile;
    float* Sw = S + warp * kWarpRows * kSLd<DM>;  // this warp's 16 rows
    float* Ow = O + warp * kWarpRows * kSLd<DM>;
    bf16* Pw = P + warp * kWarpRows * kPLd;
    const float scale_log2 = a.scale * kLog2e;

    load_tile_bf16<DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D);
    for (int d = half * (DM / 2); d < (half + 1) * (DM / 2); ++d) Ow[r * kSLd<DM> + d] = 0.0f;
    float m = -INFINITY, l = 0.0f;  // of row r, kept by both lanes of the pair
    for (int k0 = 0; k0 < a.Nk; k0 += kTile) {
        __syncthreads();
        load_tile_bf16<DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D);
        load_tile_bf16<DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D);
        load_gate(gs, a, b, k0);
        __syncthreads();
        rows_times_tile_t<DM>(Sw, Qs + warp * kWarpRows * kHLd<DM>, Ks);
        __syncwarp();
        // Online softmax on row r, columns [32 half, 32 half + 32), in base 2.
        float s[32];
        float mx = -INFINITY;
#pragma unroll
        for (int c = 0; c < 32; ++c) {
            const int col = half * 32 + c;
            s[c] = k0 + col < a.Nk ? Sw[r * kSLd<DM> + col] * scale_log2 : -INFINITY;
            mx = fmaxf(mx, s[c]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float m_new = fmaxf(m, mx);  // finite: column 0 of every key tile is a key
        const float rescale = exp2f(m - m_new);
        float sum = 0.0f;
#pragma unroll
        for (int c = 0; c < 32; ++c) {
            const float p = exp2f(s[c] - m_new);
            sum += p;
            Pw[r * kPLd + half * 32 + c] = __float2bfloat16_rn(p * gs[half * 32 + c]);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * rescale + sum;
        m = m_new;
        for (int d = half * (DM / 2); d < (half + 1) * (DM / 2); ++d) Ow[r * kSLd<DM> + d] *= rescale;
        __syncwarp();
        // O += P V through accumulator fragments loaded from and stored back to the scratch.
        FragC acc[DM / 16];
#pragma unroll
        for (int jd = 0; jd < DM / 16; ++jd) wmma::load_matrix_sync(acc[jd], Ow + jd * 16, kSLd<DM>, wmma::mem_row_major);
        accumulate_p_times_tile<DM>(acc, Pw, Vs);
#pragma unroll
        for (int jd = 0; jd < DM / 16; ++jd) wmma::store_matrix_sync(Ow + jd * 16, acc[jd], kSLd<DM>, wmma::mem_row_major);
        __syncwarp();
    }
    const int row0 = q0 + warp * kWarpRows;
    store_rows<DM>(a.out + int64_t(bh) * a.Nq * a.D, Ow, row0, a.Nq, a.D, 1.0f / l);
    if (half == 0 && row0 + r < a.Nq) a.lse[int64_t(bh) * a.Nq + row0 + r] = (m + log2f(l)) * kLn2;
}

// ---- backward: keys -------------------------------------------------------------------------------

template <int DM>
constexpr size_t backward_kv_smem() {
    return 4 * aligned_bytes(size_t(kTile) * kHLd<DM> * sizeof(bf16))     // K, V, Q, dO
           + 2 * aligned_bytes(size_t(kTile) * kSLd<DM> * sizeof(float))   // S^T, dA^T
           + 2 * aligned_bytes(size_t(kTile) * kPLd * sizeof(bf16))        // (P gate)^T, dS^T
           + 3 * aligned_bytes(kTile * sizeof(float));                      // lse, delta, gate
}

template <int DM>
__global__ void __launch_bounds__(kThreads) backward_kv_kernel(Args<bf16> a) {
    extern __shared__ __align__(128) char smem[];
    Carver carve{smem};
    bf16* Ks = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Vs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Qs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* dOs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    float* St = carve.take<float>(size_t(kTile) * kSLd<DM>);
    float* dAt = carve.take<float>(size_t(kTile) * kSLd<DM>);
    bf16* Pt = carve.take<bf16>(size_t(kTile) * kPLd);
    bf16* dSt = carve.take<bf16>(size_t(kTile) * kPLd);
    float* lse_s = carve.take<float>(kTile);
    float* delta_s = carve.take<float>(kTile);
    float* gs = carve.take<float>(kTile);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int k0 = blockIdx.y * kTile;
    float* Stw = St + warp * kWarpRows * kSLd<DM>;
    float* dAtw = dAt + warp * kWarpRows * kSLd<DM>;
    bf16* Ptw = Pt + warp * kWarpRows * kPLd;
    bf16* dStw = dSt + warp * kWarpRows * kPLd;
    const int key = warp * kWarpRows + r;  // this lane pair's key within the tile
    const float scale_log2 = a.scale * kLog2e;
    const int64_t slice = int64_t(bh) * a.Nq;

    load_tile_bf16<DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D);
    load_tile_bf16<DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D);
    load_gate(gs, a, b, k0);
    FragC dk[DM / 16], dv[DM / 16];
#pragma unroll
    for (int jd = 0; jd < DM / 16; ++jd) {
        wmma::fill_fragment(dk[jd], 0.0f);
        wmma::fill_fragment(dv[jd], 0.0f);
    }
    float dgate = 0.0f;
    for (int q0 = 0; q0 < a.Nq; q0 += kTile) {
        __syncthreads();
        load_tile_bf16<DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D);
        load_tile_bf16<DM>(dOs, a.dout + b * a.dos.b + h * a.dos.h, a.dos, q0, a.Nq, a.D);
        for (int i = threadIdx.x; i < kTile; i += kThreads) {
            const bool valid = q0 + i < a.Nq;
            lse_s[i] = valid ? a.lse[slice + q0 + i] * kLog2e : 0.0f;
            delta_s[i] = valid ? a.delta[slice + q0 + i] : 0.0f;
        }
        __syncthreads();
        rows_times_tile_t<DM>(Stw, Ks + warp * kWarpRows * kHLd<DM>, Qs);   // S^T: [key][query]
        rows_times_tile_t<DM>(dAtw, Vs + warp * kWarpRows * kHLd<DM>, dOs); // dA^T = V dO^T
        __syncwarp();
        const bool key_valid = k0 + key < a.Nk;
        const float g = gs[key];
        for (int c = 0; c < 32; ++c) {
            const int q = half * 32 + c;
            const bool valid = key_valid && q0 + q < a.Nq;
            const float p = valid ? exp2f(Stw[r * kSLd<DM> + q] * scale_log2 - lse_s[q]) : 0.0f;
            const float da = dAtw[r * kSLd<DM> + q];
            dgate += p * da;
            Ptw[r * kPLd + q] = __float2bfloat16_rn(p * g);
            dStw[r * kPLd + q] = __float2bfloat16_rn(p * (da * g - delta_s[q]));
        }
        __syncwarp();
        accumulate_p_times_tile<DM>(dv, Ptw, dOs);  // dV += (P gate)^T dO
        accumulate_p_times_tile<DM>(dk, dStw, Qs);  // dK += dS^T Q   (times scale below)
    }
    const int64_t kslice = int64_t(bh) * a.Nk;
    const int row0 = k0 + warp * kWarpRows;
    __syncwarp();
    store_fragments<DM>(a.dk + kslice * a.D, Stw, dk, row0, a.Nk, a.D, a.scale);
    __syncwarp();
    store_fragments<DM>(a.dv + kslice * a.D, dAtw, dv, row0, a.Nk, a.D, 1.0f);
    dgate += __shfl_xor_sync(0xffffffffu, dgate, 1);
    if (a.dgate && half == 0 && row0 + r < a.Nk) a.dgate[kslice + row0 + r] = dgate;
}

// ---- backward: queries ----------------------------------------------------------------------------

template <int DM>
constexpr size_t backward_q_smem() {
    return 4 * aligned_bytes(size_t(kTile) * kHLd<DM> * sizeof(bf16))     // Q, dO, K, V
           + 2 * aligned_bytes(size_t(kTile) * kSLd<DM> * sizeof(float))   // S, dA
           + aligned_bytes(size_t(kTile) * kPLd * sizeof(bf16))            // dS
           + 3 * aligned_bytes(kTile * sizeof(float));                      // lse, delta, gate
}

template <int DM>
__global__ void __launch_bounds__(kThreads) backward_q_kernel(Args<bf16> a) {
    extern __shared__ __align__(128) char smem[];
    Carver carve{smem};
    bf16* Qs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* dOs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Ks = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    bf16* Vs = carve.take<bf16>(size_t(kTile) * kHLd<DM>);
    float* S = carve.take<float>(size_t(kTile) * kSLd<DM>);
    float* dA = carve.take<float>(size_t(kTile) * kSLd<DM>);
    bf16* dS = carve.take<bf16>(size_t(kTile) * kPLd);
    float* lse_s = carve.take<float>(kTile);
    float* delta_s = carve.take<float>(kTile);
    float* gs = carve.take<float>(kTile);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
    const int bh = blockIdx.x, b = bh / a.H, h = bh % a.H;
    const int q0 = blockIdx.y * kTile;
    float* Sw = S + warp * kWarpRows * kSLd<DM>;
    float* dAw = dA + warp * kWarpRows * kSLd<DM>;
    bf16* dSw = dS + warp * kWarpRows * kPLd;
    const int query = warp * kWarpRows + r;
    const float scale_log2 = a.scale * kLog2e;
    const int64_t slice = int64_t(bh) * a.Nq;

    load_tile_bf16<DM>(Qs, a.q + b * a.qs.b + h * a.qs.h, a.qs, q0, a.Nq, a.D);
    load_tile_bf16<DM>(dOs, a.dout + b * a.dos.b + h * a.dos.h, a.dos, q0, a.Nq, a.D);
    for (int i = threadIdx.x; i < kTile; i += kThreads) {
        const bool valid = q0 + i < a.Nq;
        lse_s[i] = valid ? a.lse[slice + q0 + i] * kLog2e : 0.0f;
        delta_s[i] = valid ? a.delta[slice + q0 + i] : 0.0f;
    }
    FragC dq[DM / 16];
#pragma unroll
    for (int jd = 0; jd < DM / 16; ++jd) wmma::fill_fragment(dq[jd], 0.0f);
    for (int k0 = 0; k0 < a.Nk; k0 += kTile) {
        __syncthreads();
        load_tile_bf16<DM>(Ks, a.k + b * a.ks.b + h * a.ks.h, a.ks, k0, a.Nk, a.D);
        load_tile_bf16<DM>(Vs, a.v + b * a.vs.b + h * a.vs.h, a.vs, k0, a.Nk, a.D);
        load_gate(gs, a, b, k0);
        __syncthreads();
        rows_times_tile_t<DM>(Sw, Qs + warp * kWarpRows * kHLd<DM>, Ks);    // S: [query][key]
        rows_times_tile_t<DM>(dAw, dOs + warp * kWarpRows * kHLd<DM>, Vs);  // dA = dO V^T
        __syncwarp();
        const bool query_valid = q0 + query < a.Nq;
        const float l2 = lse_s[query], delta = delta_s[query];
        for (int c = 0; c < 32; ++c) {
            const int key = half * 32 + c;
            const bool valid = query_valid && k0 + key < a.Nk;
            const float p = valid ? exp2f(Sw[r * kSLd<DM> + key] * scale_log2 - l2) : 0.0f;
            dSw[r * kPLd + key] = __float2bfloat16_rn(p * (dAw[r * kSLd<DM> + key] * gs[key] - delta));
        }
        __syncwarp();
        accumulate_p_times_tile<DM>(dq, dSw, Ks);  // dQ += dS K   (times scale below)
    }
    __syncwarp();
    store_fragments<DM>(a.dq + slice * a.D, Sw, dq, q0 + warp * kWarpRows, a.Nq, a.D, a.scale);
}

template <class F>
void with_head_dim(int D, F&& f) {
    if (D <= 32) return f(std::integral_constant<int, 32>{});
    if (D <= 64) return f(std::integral_constant<int, 64>{});
    return f(std::integral_constant<int, 128>{});
}

}  // namespace

void forward_tensor_cores(const Args<bf16>& a, int device) {
    with_head_dim(a.D, [&](auto dim) {
        constexpr int DM = decltype(dim)::value;
        const dim3 grid{unsigned(a.B * a.H), unsigned((a.Nq + kTile - 1) / kTile)};
        launch(forward_kernel<DM>, grid, forward_smem<DM>(), device, a);
    });
}

void backward_tensor_cores(const Args<bf16>& a, int device) {
    with_head_dim(a.D, [&](auto dim) {
        constexpr int DM = decltype(dim)::value;
        const unsigned bh = unsigned(a.B * a.H);
        launch(backward_kv_kernel<DM>, dim3{bh, unsigned((a.Nk + kTile - 1) / kTile)}, backward_kv_smem<DM>(), device, a);
        launch(backward_q_kernel<DM>, dim3{bh, unsigned((a.Nq + kTile - 1) / kTile)}, backward_q_smem<DM>(), device, a);
    });
}

}  // namespace wsol::cuda::attention_detail
