// CUDA interpolation (ops/cuda/interpolate.h) as a separable filter, like ops/cpu/interpolate.cpp:
// for each output row and each output column a table lists the input rows/columns it reads and
// their weights (1 tap nearest, 2 bilinear, 4 bicubic), and
//   y[oh][ow] = sum_a wh[oh][a] sum_b ww[ow][b] x[ih[oh][a]][iw[ow][b]]
// with the CPU's order of operations (one thread per output pixel). The tables are the CPU's
// (cpu::axis_taps) computed on the host in the accumulation type and copied to the device.
//
// Backward as a gather: the tables are inverted on the host into, for every input row (column),
// the list of (output row, weight) pairs that read it, in increasing output order (CSR). One thread
// per input pixel then sums g[oh][ow] wa wb over the pairs of its row and of its column: every
// gradient element has one writer, so the result is deterministic without atomics.
#include "ops/cuda/interpolate.h"

#include <vector>

#include "ops/cpu/interpolate.h"
#include "ops/cuda/kernel_utils.cuh"

namespace wsol::cuda {

namespace {

constexpr int kThreads = 256;

// One axis's forward table on the device: index/weight of output o's taps at [o * taps + t].
template <class A>
struct Taps {
    const int32_t* index;
    const A* weight;
    int64_t taps;
};

// One axis's inverted table: the pairs of input i are entries [start[i], start[i + 1]).
template <class A>
struct Inverse {
    const int32_t* start;
    const int32_t* out;
    const A* weight;
};

struct Sizes {
    int64_t planes, in_h, in_w, out_h, out_w;
};

// Host tables, kept alive (as device tensors) for the kernel's duration by the caller.
template <class A>
struct DeviceTaps {
    Tensor index, weight;
    int64_t taps = 1;
    Taps<A> view() const { return {ptr<int32_t>(index), ptr<A>(weight), taps}; }
};
template <class A>
struct DeviceInverse {
    Tensor start, out, weight;
    Inverse<A> view() const { return {ptr<int32_t>(start), ptr<int32_t>(out), ptr<A>(weight)}; }
};

template <class A>
DType dtype_of_acc() {
    return std::is_same_v<A, double> ? kFloat64 : kFloat32;
}

template <class A>
Tensor upload(const std::vector<A>& values, Device device) {
    return Tensor::from_host(values.data(), {int64_t(values.size())}, dtype_of_acc<A>(), device);
}
Tensor upload_index(const std::vector<int32_t>& values, Device device) {
    return Tensor::from_host(values.data(), {int64_t(values.size())}, kInt32, device);
}

template <class A>
DeviceTaps<A> forward_table(const cpu::AxisTaps<A>& axis, Device device) {
    std::vector<int32_t> index(axis.index.begin(), axis.index.end());
    return {upload_index(index, device), upload(axis.weight, device), axis.taps};
}

template <class A>
DeviceInverse<A> inverse_table(const cpu::AxisTaps<A>& axis, int64_t in, int64_t out, Device device) {
    std::vector<int32_t> count(size_t(in) + 1, 0);
    for (int64_t e = 0; e < out * axis.taps; ++e) ++count[size_t(axis.index[size_t(e)]) + 1];
    for (int64_t i = 0; i < in; ++i) count[size_t(i) + 1] += count[size_t(i)];
    std::vector<int32_t> start = count, fill = count;
    std::vector<int32_t> outs(size_t(out * axis.taps));
    std::vector<A> weights(size_t(out * axis.taps));
    for (int64_t o = 0; o < out; ++o) {  // increasing o, then tap: each input's list is in output order
        for (int64_t t = 0; t < axis.taps; ++t) {
            const size_t e = size_t(o * axis.taps + t);
            const size_t at = size_t(fill[size_t(axis.index[e])]++);
            outs[at] = int32_t(o);
            weights[at] = axis.weight[e];
        }
    }
    return {upload_index(start, device), upload_index(outs, device), upload(weights, device)};
}

template <class T, class A>
__global__ void interpolate_kernel(T* __restrict__ y, const T* __restrict__ x, Taps<A> rows, Taps<A> cols, Sizes s) {
    const int64_t total = s.planes * s.out_h * s.out_w;
    for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ow = o % s.out_w, oh = (o / s.out_w) % s.out_h, p = o / (s.out_w * s.out_h);
        const T* src = x + p * s.in_h * s.in_w;
        A value = 0;
        for (int64_t a = 0; a < rows.taps; ++a) {
            const T* row = src + int64_t(rows.index[oh * rows.taps + a]) * s.in_w;
            A along_row = 0;
            for (int64_t b = 0; b < cols.taps; ++b) {
                along_row += cols.weight[ow * cols.taps + b] * A(to_compute(row[cols.index[ow * cols.taps + b]]));
            }
            value += rows.weight[oh * rows.taps + a] * along_row;
        }
        y[o] = device_convert<T>(value);
    }
}

template <class T, class A>
__global__ void interpolate_grad_kernel(T* __restrict__ gx, const T* __restrict__ gy, Inverse<A> rows, Inverse<A> cols,
                                        Sizes s) {
    const int64_t total = s.planes * s.in_h * s.in_w;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t iw = e % s.in_w, ih = (e / s.in_w) % s.in_h, p = e / (s.in_w * s.in_h);
        const T* g = gy + p * s.out_h * s.out_w;
        A acc = 0;
        for (int32_t r = rows.start[ih]; r < rows.start[ih + 1]; ++r) {
            const T* g_row = g + int64_t(rows.out[r]) * s.out_w;
            const A wa = rows.weight[r];
            for (int32_t c = cols.start[iw]; c < cols.start[iw + 1]; ++c) {
                acc += (A(to_compute(g_row[cols.out[c]])) * wa) * cols.weight[c];
            }
        }
        gx[e] = device_convert<T>(acc);
    }
}

void check_sizes(const char* op, const Sizes& s) {
    WSOL_CHECK(s.in_h < INT32_MAX && s.in_w < INT32_MAX && s.out_h * 4 < INT32_MAX && s.out_w * 4 < INT32_MAX, op,
               " on CUDA: spatial sizes too large");
}

}  // namespace

void interpolate(const Tensor& y, const Tensor& x, InterpMode mode, bool align_corners) {
    dispatch_floating_device(x.dtype(), "interpolate", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        const Sizes s{x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3)};
        if (y.numel() == 0) return;
        check_sizes("interpolate", s);
        const DeviceTaps<A> rows = forward_table(cpu::axis_taps<A>(mode, s.in_h, s.out_h, align_corners), x.device());
        const DeviceTaps<A> cols = forward_table(cpu::axis_taps<A>(mode, s.in_w, s.out_w, align_corners), x.device());
        cudaStream_t stream = prepare(x);
        interpolate_kernel<T, A><<<grid_size(y.numel(), kThreads, x.device().index), kThreads, 0, stream>>>(
            ptr<T>(y), ptr<T>(x), rows.view(), cols.view(), s);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

void interpolate_grad(const Tensor& grad_x, const Tensor& grad_y, InterpMode mode, bool align_corners) {
    dispatch_floating_device(grad_y.dtype(), "interpolate backward", [&](auto tag) {
        using T = typename decltype(tag)::type;
        using A = acc_type<T>;
        const Sizes s{grad_x.size(0) * grad_x.size(1), grad_x.size(2), grad_x.size(3), grad_y.size(2), grad_y.size(3)};
        if (grad_x.numel() == 0) return;
        check_sizes("interpolate backward", s);
        const Device device = grad_y.device();
        const DeviceInverse<A> rows =
            inverse_table(cpu::axis_taps<A>(mode, s.in_h, s.out_h, align_corners), s.in_h, s.out_h, device);
        const DeviceInverse<A> cols =
            inverse_table(cpu::axis_taps<A>(mode, s.in_w, s.out_w, align_corners), s.in_w, s.out_w, device);
        cudaStream_t stream = prepare(grad_y);
        interpolate_grad_kernel<T, A><<<grid_size(grad_x.numel(), kThreads, device.index), kThreads, 0, stream>>>(
            ptr<T>(grad_x), ptr<T>(grad_y), rows.view(), cols.view(), s);
        WSOL_CUDA_CHECK_LAUNCH();
    });
}

}  // namespace wsol::cuda
