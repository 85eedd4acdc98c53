// CUDA indexing kernels (ops/cuda/index.h): gather, scatter_add, the per-axis remap of pad / roll /
// flip with its transpose, and one_hot.
//
// gather walks the positions of out with three offsets per position (engine/cuda/loops.cuh), like
// the CPU: out, index, and x seen at out's shape with stride 0 along `axis`, so the element to read
// is that offset plus index * stride(axis).
//
// scatter_add is where positions collide. Instead of atomics it (1) writes one (target offset,
// source offset) pair per position, (2) orders the pairs by target with CUB's radix sort, which
// is stable, so each target's sources stay in position order, and (3) lets the first pair of each
// run of equal targets add the run into the target in that order. That is exactly the order of
// the CPU's serial loop: the results are deterministic and, for float32/float64, identical to the
// CPU's. (A target hit by very many positions is summed by one thread: correct, not fast.)
//
// remap (pad, roll, flip) reads out[i] = x[t0[i0], t1[i1], ...] through the per-axis tables,
// uploaded as one array. remap_add, the backward of reflect/replicate padding, inverts each table
// on the host (for every input coordinate, the output coordinates that read it) and gathers: each
// element of out sums its sources in the row-major order in which the CPU adds them.
#include "ops/cuda/index.h"

#include <cub/device/device_radix_sort.cuh>

#include <vector>

#include "engine/cuda/loops.cuh"
#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kRemapMaxDims = 12;

template <class F>
void dispatch_index(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kInt64: return f(Tag<int64_t>{});
        case kInt32: return f(Tag<int32_t>{});
        default: WSOL_FAIL(op, ": index tensor must be int64 or int32, got ", dtype_name(dtype));
    }
}

template <class F>
void dispatch_numeric_device(DType dtype, const char* op, F&& f) {
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

// t viewed at `shape` with its own strides except stride 0 along `axis` (ops/cpu/index.cpp).
Tensor axis_origin_view(const Tensor& t, const Shape& shape, int64_t axis) {
    Strides strides = t.strides();
    strides[size_t(axis)] = 0;
    return t.as_strided(shape, strides, t.offset());
}

// Sums in the compute type (float for bfloat16), stored back as T.
template <class T>
using sum_t = std::conditional_t<std::is_same_v<T, __nv_bfloat16>, float, T>;

// ---- gather -----------------------------------------------------------------------------------------

template <class T, class I>
__global__ void gather_kernel(T* out, const I* index, const T* x, OffsetCalculator<3> calc, uint32_t n,
                              int64_t axis_stride) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[3];
        calc.get(i, off);
        out[off[0]] = x[off[2] + int64_t(index[off[1]]) * axis_stride];
    }
}

// ---- scatter_add ------------------------------------------------------------------------------------

template <class I>
__global__ void scatter_pairs_kernel(uint64_t* keys, int64_t* sources, const I* index, OffsetCalculator<3> calc,
                                     uint32_t n, int64_t axis_stride) {
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int64_t off[3];
        calc.get(i, off);
        keys[i] = uint64_t(off[0] + int64_t(index[off[1]]) * axis_stride);
        sources[i] = off[2];
    }
}

// The first pair of each run of equal targets adds the run's sources into the target, in order.
template <class T>
__global__ void scatter_runs_kernel(T* out, const T* src, const uint64_t* keys, const int64_t* sources, int64_t n) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const uint64_t key = keys[i];
        if (i > 0 && keys[i - 1] == key) continue;
        sum_t<T> acc = sum_t<T>(to_compute(out[key]));
        for (int64_t j = i; j < n && keys[j] == key; ++j) acc = sum_t<T>(acc + sum_t<T>(to_compute(src[sources[j]])));
        out[key] = device_convert<T>(acc);
    }
}

int bits_for(uint64_t max_value) {
    int bits = 1;
    while (bits < 64 && (max_value >> bits) != 0) ++bits;
    return bits;
}

// ---- remap ------------------------------------------------------------------------------------------

struct RemapGeometry {
    int ndim = 0;
    int64_t sizes[kRemapMaxDims] = {};         // out's sizes
    int64_t strides[kRemapMaxDims] = {};       // x's strides (remap) / contiguous strides of x (remap_add)
    int64_t table[kRemapMaxDims] = {};         // offset of the axis's table in the uploaded array, -1: identity
};

template <class T>
__global__ void remap_kernel(T* out, const T* x, const int64_t* tables, RemapGeometry g, int64_t n, T fill) {
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        int64_t rest = e, offset = 0;
        bool valid = true;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t i = rest % g.sizes[d];
            rest /= g.sizes[d];
            const int64_t j = g.table[d] < 0 ? i : tables[g.table[d] + i];
            valid = valid && j >= 0;
            offset += j * g.strides[d];
        }
        out[e] = valid ? x[offset] : fill;
    }
}

// Inverted tables: for out coordinate j along axis d, the x coordinates reading it are
// entries[start[base_d + j] .. start[base_d + j + 1]).
template <class T>
__global__ void remap_add_kernel(T* out, const T* x, const int64_t* start, const int64_t* entries, RemapGeometry g,
                                 int64_t n) {
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        int64_t begin[kRemapMaxDims], end[kRemapMaxDims], cursor[kRemapMaxDims];
        int64_t rest = e;
        bool empty = false;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t j = rest % g.sizes[d];
            rest /= g.sizes[d];
            if (g.table[d] < 0) {
                begin[d] = j;
                end[d] = j + 1;
            } else {
                begin[d] = start[g.table[d] + j];
                end[d] = start[g.table[d] + j + 1];
            }
            cursor[d] = begin[d];
            empty = empty || begin[d] == end[d];
        }
        sum_t<T> acc = sum_t<T>(0);
        // An odometer over the sources, last axis fastest: x's row-major order, the CPU's order.
        while (!empty) {
            int64_t offset = 0;
            for (int d = 0; d < g.ndim; ++d) {
                const int64_t i = g.table[d] < 0 ? cursor[d] : entries[cursor[d]];
                offset += i * g.strides[d];
            }
            acc = sum_t<T>(acc + sum_t<T>(to_compute(x[offset])));
            int d = g.ndim - 1;
            for (; d >= 0; --d) {
                if (++cursor[d] < end[d]) break;
                cursor[d] = begin[d];
            }
            if (d < 0) break;
        }
        out[e] = device_convert<T>(acc);
    }
}

// ---- one_hot ----------------------------------------------------------------------------------------

template <class I>
__global__ void one_hot_kernel(int64_t* out, const I* index, OffsetCalculator<1> calc, int64_t n, int64_t classes) {
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
        int64_t off[1];
        calc.get(uint32_t(e / classes), off);
        out[e] = int64_t(index[off[0]]) == e % classes ? 1 : 0;
    }
}

void check_remap_dims(const char* op, const Tensor& t) {
    WSOL_CHECK(t.dim() <= kRemapMaxDims, op, " on CUDA: at most ", kRemapMaxDims, " dimensions, got ",
               shape_str(t.shape()));
}

}  // namespace

void gather(const Tensor& out, const Tensor& x, int64_t axis, const Tensor& index) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const Tensor source = axis_origin_view(x, out.shape(), axis);
    const int64_t axis_stride = x.strides()[size_t(axis)];
    const auto calc = make_offset_calculator<3>("gather", out.shape(), {&out, &index, &source});
    dispatch_device(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_index(index.dtype(), "gather", [&](auto itag) {
            using I = typename decltype(itag)::type;
            cudaStream_t stream = prepare(out);
            gather_kernel<T, I><<<grid_size(n, kThreads, out.device().index), kThreads, 0, stream>>>(
                ptr<T>(out), ptr<I>(index), ptr<T>(x), calc, uint32_t(n), axis_stride);
            WSOL_CUDA_CHECK_LAUNCH();
        });
    });
}

void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src) {
    const int64_t n = index.numel();
    if (n == 0) return;
    uint64_t max_offset = 0;
    for (int64_t d = 0; d < out.dim(); ++d) {
        WSOL_CHECK(out.strides()[size_t(d)] >= 0, "scatter_add on CUDA: the output must have non-negative strides");
        max_offset += uint64_t(std::max<int64_t>(out.shape()[size_t(d)] - 1, 0)) * uint64_t(out.strides()[size_t(d)]);
    }
    const Tensor target = axis_origin_view(out, index.shape(), axis);
    const Tensor values = src.as_strided(index.shape(), src.strides(), src.offset());
    const int64_t axis_stride = out.strides()[size_t(axis)];
    const auto calc = make_offset_calculator<3>("scatter_add", index.shape(), {&target, &index, &values});
    dispatch_numeric_device(out.dtype(), "scatter_add", [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
            using I = typename decltype(itag)::type;
            const Device device = out.device();
            cudaStream_t stream = prepare(out);
            Tensor keys = Tensor::empty({n}, kInt64, device), sorted_keys = Tensor::empty({n}, kInt64, device);
            Tensor sources = Tensor::empty({n}, kInt64, device), sorted_sources = Tensor::empty({n}, kInt64, device);
            scatter_pairs_kernel<I><<<grid_size(n, kThreads, device.index), kThreads, 0, stream>>>(
                ptr<uint64_t>(keys), ptr<int64_t>(sources), ptr<I>(index), calc, uint32_t(n), axis_stride);
            WSOL_CUDA_CHECK_LAUNCH();
            const int end_bit = bits_for(max_offset);
            size_t bytes = 0;
            WSOL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, ptr<uint64_t>(keys), ptr<uint64_t>(sorted_keys),
                                                            ptr<int64_t>(sources), ptr<int64_t>(sorted_sources), n, 0,
                                                            end_bit, stream));
            Tensor temp = Tensor::empty({int64_t(std::max<size_t>(bytes, 1))}, kUInt8, device);
            WSOL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.raw_data(), bytes, ptr<uint64_t>(keys),
                                                            ptr<uint64_t>(sorted_keys), ptr<int64_t>(sources),
                                                            ptr<int64_t>(sorted_sources), n, 0, end_bit, stream));
            scatter_runs_kernel<T><<<grid_size(n, kThreads, device.index), kThreads, 0, stream>>>(
                ptr<T>(out), ptr<T>(src), ptr<uint64_t>(sorted_keys), ptr<int64_t>(sorted_sources), n);
            WSOL_CUDA_CHECK_LAUNCH();
        });
    });
}

void remap(const Tensor& out, const Tensor& x, const IndexTables& tables, double fill) {
    const int64_t n = out.numel();
    if (n == 0) return;
    if (out.dim() == 0) return copy_into(out, x);
    check_remap_dims("remap", out);
    RemapGeometry g;
    g.ndim = int(out.dim());
    std::vector<int64_t> all;
    for (int d = 0; d < g.ndim; ++d) {
        g.sizes[d] = out.shape()[size_t(d)];
        g.strides[d] = x.strides()[size_t(d)];
        g.table[d] = tables[size_t(d)].empty() ? -1 : int64_t(all.size());
        all.insert(all.end(), tables[size_t(d)].begin(), tables[size_t(d)].end());
    }
    if (all.empty()) all.push_back(0);
    const Tensor device_tables = Tensor::from_vector(all, {int64_t(all.size())}, out.device());
    dispatch_device(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        cudaStream_t stream = prepare(out);
        remap_kernel<T><<<grid_size(n, kThreads, out.device().index), kThreads, 0, stream>>>(
            ptr<T>(out), ptr<T>(x), ptr<int64_t>(device_tables), g, n, device_convert<T>(fill));
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void remap_add(const Tensor& out, const Tensor& x, const IndexTables& tables) {
    dispatch_numeric_device(out.dtype(), "remap_add", [](auto) {});  // dtype check first
    const int64_t n = out.numel();
    if (n == 0) return;
    if (x.dim() == 0) return copy_into(out, x);
    check_remap_dims("remap_add", x);
    WSOL_CHECK(x.is_contiguous() && out.is_contiguous(), "remap_add on CUDA: expects contiguous tensors");
    RemapGeometry g;
    g.ndim = int(x.dim());
    const Strides x_strides = contiguous_strides(x.shape());
    std::vector<int64_t> start, entries;
    for (int d = 0; d < g.ndim; ++d) {
        g.sizes[d] = out.shape()[size_t(d)];
        g.strides[d] = x_strides[size_t(d)];
        const std::vector<int64_t>& t = tables[size_t(d)];
        if (t.empty()) {
            g.table[d] = -1;
            continue;
        }
        // For out coordinate j: the x coordinates i with t[i] == j, increasing (counting sort).
        const int64_t size = g.sizes[d];
        std::vector<int64_t> count(size_t(size) + 1, 0);
        for (int64_t j : t) {
            if (j >= 0) ++count[size_t(j) + 1];
        }
        for (int64_t j = 0; j < size; ++j) count[size_t(j) + 1] += count[size_t(j)];
        g.table[d] = int64_t(start.size());
        const int64_t entry_base = int64_t(entries.size());
        for (int64_t c : count) start.push_back(entry_base + c);
        entries.resize(entries.size() + size_t(count.back()));
        std::vector<int64_t> fill(count.begin(), count.end() - 1);
        for (int64_t i = 0; i < int64_t(t.size()); ++i) {
            if (t[size_t(i)] >= 0) entries[size_t(entry_base + fill[size_t(t[size_t(i)])]++)] = i;
        }
    }
    if (start.empty()) start.push_back(0);
    if (entries.empty()) entries.push_back(0);
    const Tensor device_start = Tensor::from_vector(start, {int64_t(start.size())}, out.device());
    const Tensor device_entries = Tensor::from_vector(entries, {int64_t(entries.size())}, out.device());
    dispatch_numeric_device(out.dtype(), "remap_add", [&](auto tag) {
        using T = typename decltype(tag)::type;
        cudaStream_t stream = prepare(out);
        remap_add_kernel<T><<<grid_size(n, kThreads, out.device().index), kThreads, 0, stream>>>(
            ptr<T>(out), ptr<T>(x), ptr<int64_t>(device_start), ptr<int64_t>(device_entries), g, n);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void one_hot(const Tensor& out, const Tensor& index) {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int64_t classes = out.shape().back();
    const auto calc = make_offset_calculator<1>("one_hot", index.shape(), {&index});
    dispatch_index(index.dtype(), "one_hot", [&](auto itag) {
        using I = typename decltype(itag)::type;
        cudaStream_t stream = prepare(out);
        one_hot_kernel<I><<<grid_size(n, kThreads, out.device().index), kThreads, 0, stream>>>(
            ptr<int64_t>(out), ptr<I>(index), calc, n, classes);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
