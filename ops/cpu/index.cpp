// Indexing kernels on the CPU.
//
// gather and scatter_add walk the index tensor with a StridedLoop over three operands that all
// have the index's shape: the index itself, the data side (src or out) and a view of the indexed
// tensor with stride 0 along `axis`. That view points at coordinate 0 of the axis for every
// position, so the element to read or write is that pointer plus index * stride(axis). Any input
// strides work and no index arithmetic over the full shape is needed.
// remap (pad, roll, flip) walks the output row by row and looks up each axis in its table.
#include "ops/cpu/index.h"

#include <algorithm>
#include <limits>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"

namespace wsol::cpu {

namespace {

// Never split a loop across threads (for scatters, where positions can collide).
constexpr int64_t kSerial = std::numeric_limits<int64_t>::max() / 4;

// t viewed at `shape` with its own strides except stride 0 along `axis`.
Tensor axis_origin_view(const Tensor& t, const Shape& shape, int64_t axis) {
    Strides strides = t.strides();
    strides[size_t(axis)] = 0;
    return t.as_strided(shape, strides, t.offset());
}

template <class F>
void dispatch_index(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case kInt64: f(TypeTag<int64_t>{}); return;
        case kInt32: f(TypeTag<int32_t>{}); return;
        default: WSOL_FAIL(op, ": index tensor must be int64 or int32, got ", dtype_name(dtype));
    }
}

}  // namespace

void gather(const Tensor& out, const Tensor& x, int64_t axis, const Tensor& index) {
    if (out.numel() == 0) return;
    const Tensor source = axis_origin_view(x, out.shape(), axis);
    const int64_t axis_step = x.strides()[size_t(axis)] * int64_t(x.element_size());
    dispatch_all(out.dtype(), "gather", [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_index(index.dtype(), "gather", [&](auto itag) {
            using I = typename decltype(itag)::type;
            StridedLoop<3> loop(out.shape(), {out, index, source});
            loop.run([axis_step](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
                for (int64_t i = 0; i < n; ++i) {
                    const int64_t at = int64_t(*reinterpret_cast<const I*>(p[1] + i * s[1]));
                    *reinterpret_cast<T*>(p[0] + i * s[0]) =
                        *reinterpret_cast<const T*>(p[2] + i * s[2] + at * axis_step);
                }
            });
        });
    });
}

void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src) {
    if (index.numel() == 0) return;
    const Tensor target = axis_origin_view(out, index.shape(), axis);
    const Tensor values = src.as_strided(index.shape(), src.strides(), src.offset());
    const int64_t axis_step = out.strides()[size_t(axis)] * int64_t(out.element_size());
    dispatch_numeric(out.dtype(), "scatter_add", [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
            using I = typename decltype(itag)::type;
            StridedLoop<3> loop(index.shape(), {target, index, values});
            loop.run(
                [axis_step](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
                    for (int64_t i = 0; i < n; ++i) {
                        const int64_t at = int64_t(*reinterpret_cast<const I*>(p[1] + i * s[1]));
                        *reinterpret_cast<T*>(p[0] + i * s[0] + at * axis_step) +=
                            *reinterpret_cast<const T*>(p[2] + i * s[2]);
                    }
                },
                kSerial);
        });
    });
}

namespace {

// Calls f(row, source_offset, valid) for every output row (all axes but the last), where
// source_offset is the element offset in x of the row's source before the last axis is applied.
template <class F>
void for_each_row(const Shape& shape, const Strides& x_strides, const IndexTables& tables, int64_t begin, int64_t end,
                  F&& f) {
    const int64_t nd = int64_t(shape.size());
    for (int64_t row = begin; row < end; ++row) {
        int64_t rest = row, offset = 0;
        bool valid = true;
        for (int64_t d = nd - 2; d >= 0; --d) {
            const int64_t i = rest % shape[size_t(d)];
            rest /= shape[size_t(d)];
            const int64_t j = tables[size_t(d)].empty() ? i : tables[size_t(d)][size_t(i)];
            valid = valid && j >= 0;
            offset += j * x_strides[size_t(d)];
        }
        f(row, offset, valid);
    }
}

}  // namespace

void remap(const Tensor& out, const Tensor& x, const IndexTables& tables, double fill) {
    if (out.numel() == 0) return;
    if (out.dim() == 0) return copy_into(out, x);
    dispatch_all(out.dtype(), "remap", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T fill_value = convert<T>(fill);
        const int64_t inner = out.shape().back(), rows = out.numel() / inner;
        const int64_t last_stride = x.strides().back();
        const std::vector<int64_t>& last = tables.back();
        const T* px = static_cast<const T*>(x.raw_data());
        T* po = static_cast<T*>(out.raw_data());
        auto run = [&](int64_t begin, int64_t end) {
            for_each_row(out.shape(), x.strides(), tables, begin, end, [&](int64_t row, int64_t offset, bool valid) {
                T* dst = po + row * inner;
                if (!valid) return std::fill(dst, dst + inner, fill_value);
                for (int64_t i = 0; i < inner; ++i) {
                    const int64_t j = last.empty() ? i : last[size_t(i)];
                    dst[i] = j < 0 ? fill_value : px[offset + j * last_stride];
                }
            });
        };
        if (out.numel() < 2 * kParallelGrain) return run(0, rows);
#pragma omp parallel for schedule(static)
        for (int64_t chunk = 0; chunk < 64; ++chunk) run(rows * chunk / 64, rows * (chunk + 1) / 64);
    });
}

void remap_add(const Tensor& out, const Tensor& x, const IndexTables& tables) {
    dispatch_numeric(out.dtype(), "remap_add", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* po = out.data<T>();
        std::fill(po, po + out.numel(), T(0));
        if (x.numel() == 0) return;
        if (x.dim() == 0) {
            po[0] += *x.data<T>();
            return;
        }
        // Walk x (the source of the additions) and map each coordinate into out.
        const int64_t inner = x.shape().back(), rows = x.numel() / inner;
        const int64_t last_stride = out.strides().back();
        const std::vector<int64_t>& last = tables.back();
        const T* px = x.data<T>();
        for_each_row(x.shape(), out.strides(), tables, 0, rows, [&](int64_t row, int64_t offset, bool valid) {
            if (!valid) return;
            const T* src = px + row * inner;
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t j = last.empty() ? i : last[size_t(i)];
                if (j >= 0) po[offset + j * last_stride] += src[i];
            }
        });
    });
}

void one_hot(const Tensor& out, const Tensor& index) {
    int64_t* po = out.data<int64_t>();
    std::fill(po, po + out.numel(), int64_t(0));
    const int64_t classes = out.shape().back();
    const std::vector<int64_t> values = index.to_vector<int64_t>();
    for (size_t i = 0; i < values.size(); ++i) po[int64_t(i) * classes + values[i]] = 1;
}

}  // namespace wsol::cpu
