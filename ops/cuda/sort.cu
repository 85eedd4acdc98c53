// CUDA sort and topk (ops/cuda/sort.h).
//
// Keys. Every value is mapped to an unsigned integer whose order is the CPU's order of the values
// (ops/cpu/sort.cpp): floats by the usual sign flip (negative: all bits inverted; positive: the
// sign bit set), with every NaN mapped to the largest key and -0.0 to +0.0's; signed integers by
// flipping the sign bit. bfloat16 goes through float32 (exact). A descending order (or topk of the
// smallest) inverts the key. Two key widths cover every dtype: 32 bits (float32, bfloat16, int32,
// uint8) and 64 bits (float64, int64). Values are always read back from x by index, so the
// output keeps -0.0 and NaN payloads.
//
// sort: the lines along `axis` are gathered into a (lines, n) key buffer with indices 0..n-1 as
// payload and ordered by CUB's segmented stable sort (cub::DeviceSegmentedSort::StableSortPairs,
// one segment per line): stability gives the CPU's order of equal values in both directions.
//
// topk with k <= 16 (the top-5 of 1000 classes): a warp per line selects the winners one by one;
// round r takes the best element strictly after round r-1's winner in the total order "larger key
// first, then lower index", with warp shuffles, so k rounds of one coalesced pass over the line
// and no buffer. Larger k or very long lines: the segmented sort, then the first k of each line
// (sorted = false: those k re-sorted by index, as the CPU returns them).
#include "ops/cuda/sort.h"

#include <cub/device/device_segmented_sort.cuh>

#include "engine/cuda/loops.cuh"
#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kSelectMaxK = 16;
constexpr int64_t kSelectMaxN = 16384;

// ---- keys ------------------------------------------------------------------------------------------

template <class T>
using key_t = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;

__device__ __forceinline__ uint32_t float_key(float v) {
    if (v != v) return 0xffffffffu;
    uint32_t u = __float_as_uint(v);
    if (u == 0x80000000u) u = 0;  // -0.0 orders as +0.0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ uint64_t double_key(double v) {
    if (v != v) return ~uint64_t(0);
    uint64_t u = uint64_t(__double_as_longlong(v));
    const uint64_t sign = uint64_t(1) << 63;
    if (u == sign) u = 0;
    return (u & sign) ? ~u : (u | sign);
}

template <class T>
__device__ __forceinline__ key_t<T> key_of(T v) {
    if constexpr (std::is_same_v<T, float>) {
        return float_key(v);
    } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
        return float_key(__bfloat162float(v));
    } else if constexpr (std::is_same_v<T, double>) {
        return double_key(v);
    } else if constexpr (std::is_same_v<T, int32_t>) {
        return uint32_t(v) ^ 0x80000000u;
    } else if constexpr (std::is_same_v<T, int64_t>) {
        return uint64_t(v) ^ (uint64_t(1) << 63);
    } else {
        return uint32_t(v);  // uint8
    }
}

// ---- line geometry ---------------------------------------------------------------------------------

struct Lines {
    OffsetCalculator<1> start;  // line -> element offset in x of its first element
    int64_t count = 1;          // number of lines
    int64_t n = 1;              // elements per line (size of the axis)
    int64_t step = 1;           // x's stride along the axis
    int64_t inner = 1;          // product of the sizes after the axis (output line stride)
};

Lines lines_of(const char* op, const Tensor& x, int64_t axis) {
    Lines l;
    Shape sizes;
    Strides strides;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (d == axis) continue;
        sizes.push_back(x.shape()[size_t(d)]);
        strides.push_back(x.strides()[size_t(d)]);
        l.count *= x.shape()[size_t(d)];
        if (d > axis) l.inner *= x.shape()[size_t(d)];
    }
    l.n = x.dim() == 0 ? 1 : x.shape()[size_t(axis)];
    l.step = x.dim() == 0 ? 1 : x.strides()[size_t(axis)];
    const Tensor others = x.as_strided(sizes, strides, 0);  // only its geometry is used
    l.start = make_offset_calculator<1>(op, sizes, {&others});
    return l;
}

// Output position of rank j of line l, for `count` entries per line along the axis.
__device__ __forceinline__ int64_t output_at(int64_t l, int64_t j, int64_t count, int64_t inner) {
    return (l / inner) * count * inner + l % inner + j * inner;
}

__device__ __forceinline__ int64_t line_start(const OffsetCalculator<1>& calc, int64_t l) {
    int64_t off[1];
    calc.get(uint32_t(l), off);
    return off[0];
}

// ---- sort through CUB ------------------------------------------------------------------------------

template <class T>
__global__ void make_keys_kernel(key_t<T>* keys, int64_t* order, const T* x, Lines l, bool invert) {
    const int64_t total = l.count * l.n;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t line = e / l.n, j = e % l.n;
        const key_t<T> k = key_of(x[line_start(l.start, line) + j * l.step]);
        keys[e] = invert ? key_t<T>(~k) : k;
        order[e] = j;
    }
}

__global__ void segment_offsets_kernel(int64_t* offsets, int64_t segments, int64_t n) {
    for (int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; s <= segments; s += int64_t(gridDim.x) * blockDim.x) {
        offsets[s] = s * n;
    }
}

// Orders keys (and their int64 payload) within each of `segments` segments of n, stably.
template <class K>
void segmented_sort(const Tensor& keys_in, const Tensor& keys_out, const Tensor& vals_in, const Tensor& vals_out,
                    int64_t segments, int64_t n, cudaStream_t stream) {
    const int device = keys_in.device().index;
    Tensor offsets = Tensor::empty({segments + 1}, kInt64, keys_in.device());
    segment_offsets_kernel<<<grid_size(segments + 1, kThreads, device), kThreads, 0, stream>>>(ptr<int64_t>(offsets),
                                                                                            segments, n);
    WSOL_CUDA_CHECK_LAUNCH();
    const int64_t total = segments * n;
    const int64_t* begin = ptr<int64_t>(offsets);
    size_t bytes = 0;
    WSOL_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes, ptr<K>(keys_in), ptr<K>(keys_out),
                                                              ptr<int64_t>(vals_in), ptr<int64_t>(vals_out), total,
                                                              segments, begin, begin + 1, stream));
    Tensor temp = Tensor::empty({int64_t(std::max<size_t>(bytes, 1))}, kUInt8, keys_in.device());
    WSOL_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(temp.raw_data(), bytes, ptr<K>(keys_in), ptr<K>(keys_out),
                                                              ptr<int64_t>(vals_in), ptr<int64_t>(vals_out), total,
                                                              segments, begin, begin + 1, stream));
}

// values/indices at rank j < count of each line, from the sorted payload (rank order) of stride n.
template <class T>
__global__ void write_sorted_kernel(T* values, int64_t* indices, const T* x, const int64_t* order, Lines l,
                                    int64_t count) {
    const int64_t total = l.count * count;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t line = e / count, j = e % count;
        const int64_t src = order[line * l.n + j];
        const int64_t at = output_at(line, j, count, l.inner);
        values[at] = x[line_start(l.start, line) + src * l.step];
        indices[at] = src;
    }
}

// The first `count` payload entries of each line (stride n) as uint64 keys and int64 values, for
// re-sorting the winners of an unsorted topk by index.
__global__ void winners_by_index_kernel(uint64_t* keys, int64_t* vals, const int64_t* order, int64_t lines, int64_t n,
                                        int64_t count) {
    const int64_t total = lines * count;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t v = order[(e / count) * n + e % count];
        keys[e] = uint64_t(v);
        vals[e] = v;
    }
}

// Sorts every line (descending when `invert`) and leaves the rank-ordered payload in `order`
// ((lines, n) int64).
template <class T>
Tensor sorted_order(const Tensor& x, const Lines& l, bool invert, cudaStream_t stream) {
    using K = key_t<T>;
    const DType kd = sizeof(K) == 8 ? kInt64 : kInt32;  // raw storage for the unsigned keys
    const int64_t total = l.count * l.n;
    Tensor keys = Tensor::empty({total}, kd, x.device()), keys_sorted = Tensor::empty({total}, kd, x.device());
    Tensor order0 = Tensor::empty({total}, kInt64, x.device()), order = Tensor::empty({total}, kInt64, x.device());
    make_keys_kernel<T><<<grid_size(total, kThreads, x.device().index), kThreads, 0, stream>>>(
        ptr<K>(keys), ptr<int64_t>(order0), ptr<T>(x), l, invert);
    WSOL_CUDA_CHECK_LAUNCH();
    segmented_sort<K>(keys, keys_sorted, order0, order, l.count, l.n, stream);
    return order;
}

// ---- topk by selection -----------------------------------------------------------------------------

// (key, index) a comes before b: larger key, then lower index. An index of -1 is "nothing".
template <class K>
__device__ __forceinline__ bool before(K ka, int64_t ia, K kb, int64_t ib) {
    if (ib < 0) return ia >= 0;
    if (ia < 0) return false;
    return ka > kb || (ka == kb && ia < ib);
}

template <class T>
__global__ void topk_select_kernel(T* values, int64_t* indices, const T* x, Lines l, int64_t k, bool invert,
                                   bool sorted) {
    using K = key_t<T>;
    const int64_t line = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (line >= l.count) return;
    const int64_t base = line_start(l.start, line);
    int64_t winners[kSelectMaxK];
    K prev_key = 0;
    int64_t prev_index = -1;
    for (int64_t r = 0; r < k; ++r) {
        K best_key = 0;
        int64_t best_index = -1;
        for (int64_t j = lane; j < l.n; j += 32) {
            K key = key_of(x[base + j * l.step]);
            if (invert) key = K(~key);
            if (prev_index >= 0 && !before(prev_key, prev_index, key, j)) continue;  // taken in an earlier round
            if (before(key, j, best_key, best_index)) {
                best_key = key;
                best_index = j;
            }
        }
#pragma unroll
        for (int offset = 16; offset > 0; offset /= 2) {
            const K other_key = __shfl_xor_sync(0xffffffffu, best_key, offset);
            const int64_t other_index = __shfl_xor_sync(0xffffffffu, best_index, offset);
            if (before(other_key, other_index, best_key, best_index)) {
                best_key = other_key;
                best_index = other_index;
            }
        }
        winners[r] = best_index;
        prev_key = best_key;
        prev_index = best_index;
    }
    if (lane != 0) return;
    if (!sorted) {  // the winners in index order
        for (int64_t a = 1; a < k; ++a) {
            const int64_t v = winners[a];
            int64_t b = a;
            for (; b > 0 && winners[b - 1] > v; --b) winners[b] = winners[b - 1];
            winners[b] = v;
        }
    }
    for (int64_t r = 0; r < k; ++r) {
        const int64_t at = output_at(line, r, k, l.inner);
        values[at] = x[base + winners[r] * l.step];
        indices[at] = winners[r];
    }
}

template <class F>
void dispatch_sortable(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kFloat32: return f(Tag<float>{});
        case kFloat64: return f(Tag<double>{});
        case kBFloat16: return f(Tag<__nv_bfloat16>{});
        case kInt32: return f(Tag<int32_t>{});
        case kInt64: return f(Tag<int64_t>{});
        case kUInt8: return f(Tag<uint8_t>{});
        default: break;
    }
    WSOL_FAIL(op, " on CUDA: dtype ", dtype_name(dtype),
              " is not supported (float32, float64, bfloat16, int32, int64, uint8 are)");
}

}  // namespace

void sort(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis, bool descending) {
    dispatch_sortable(x.dtype(), "sort", [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (x.numel() == 0) return;
        const Lines l = lines_of("sort", x, axis);
        cudaStream_t stream = prepare(x);
        const Tensor order = sorted_order<T>(x, l, descending, stream);
        write_sorted_kernel<T><<<grid_size(l.count * l.n, kThreads, x.device().index), kThreads, 0, stream>>>(
            ptr<T>(values), ptr<int64_t>(indices), ptr<T>(x), ptr<int64_t>(order), l, l.n);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t axis, bool largest,
          bool sorted) {
    dispatch_sortable(x.dtype(), "topk", [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (values.numel() == 0) return;
        const Lines l = lines_of("topk", x, axis);
        cudaStream_t stream = prepare(x);
        const int device = x.device().index;
        if (k <= kSelectMaxK && l.n <= kSelectMaxN) {
            topk_select_kernel<T><<<blocks_for(l.count, kThreads / 32), kThreads, 0, stream>>>(
                ptr<T>(values), ptr<int64_t>(indices), ptr<T>(x), l, k, !largest, sorted);
            WSOL_CUDA_CHECK_LAUNCH();
            return;
        }
        // Sorted with the best first: descending keys for the largest, ascending for the smallest.
        Tensor order = sorted_order<T>(x, l, largest, stream);
        Lines winners = l;
        if (!sorted) {  // re-sort the k winners of each line by index
            const int64_t total = l.count * k;
            Tensor keys = Tensor::empty({total}, kInt64, x.device()), keys_out = Tensor::empty({total}, kInt64, x.device());
            Tensor vals = Tensor::empty({total}, kInt64, x.device()), by_index = Tensor::empty({total}, kInt64, x.device());
            winners_by_index_kernel<<<grid_size(total, kThreads, device), kThreads, 0, stream>>>(
                ptr<uint64_t>(keys), ptr<int64_t>(vals), ptr<int64_t>(order), l.count, l.n, k);
            WSOL_CUDA_CHECK_LAUNCH();
            segmented_sort<uint64_t>(keys, keys_out, vals, by_index, l.count, k, stream);
            order = by_index;
            winners.n = k;  // the payload now has k entries per line
        }
        write_sorted_kernel<T><<<grid_size(l.count * k, kThreads, device), kThreads, 0, stream>>>(
            ptr<T>(values), ptr<int64_t>(indices), ptr<T>(x), ptr<int64_t>(order), winners, k);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
