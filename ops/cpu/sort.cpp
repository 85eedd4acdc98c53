// CPU sort and topk: each line along the axis is copied into a per-thread buffer, ordered with
// the standard algorithms (std::stable_sort for sort; std::nth_element then a sort of the k
// winners for topk, O(n + k log k)) and written out. Lines run in parallel.
#include "ops/cpu/sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"

namespace wsol::cpu {

namespace {

// a < b with NaN above everything (NaN == NaN for ordering purposes).
template <class T>
bool less_nan_last(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return false;
        if (std::isnan(b)) return true;
    }
    return a < b;
}

struct LineLayout {
    int64_t n = 1;                 // length of a line (size of the axis)
    int64_t step = 1;              // input stride along the axis
    int64_t inner = 1;             // product of the sizes after the axis (output line stride)
    Shape other_sizes;             // the non-axis dims of x, outermost first
    Strides other_strides;
    int64_t lines = 1;
};

LineLayout line_layout(const Tensor& x, int64_t axis) {
    LineLayout l;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (d == axis) continue;
        l.other_sizes.push_back(x.shape()[size_t(d)]);
        l.other_strides.push_back(x.strides()[size_t(d)]);
        l.lines *= x.shape()[size_t(d)];
        if (d > axis) l.inner *= x.shape()[size_t(d)];
    }
    l.n = x.dim() == 0 ? 1 : x.shape()[size_t(axis)];
    l.step = x.dim() == 0 ? 1 : x.strides()[size_t(axis)];
    return l;
}

int64_t input_offset(const LineLayout& l, int64_t line) {
    int64_t offset = 0;
    for (size_t d = l.other_sizes.size(); d-- > 0;) {
        offset += (line % l.other_sizes[d]) * l.other_strides[d];
        line /= l.other_sizes[d];
    }
    return offset;
}

// Runs f(line, values, order) for every line: `values` holds the line of x, `order` is scratch.
template <class T, class F>
void for_each_line(const Tensor& x, const LineLayout& l, F&& f) {
    const T* in = x.data<T>();
#pragma omp parallel if (l.lines * l.n >= 2 * kParallelGrain && l.lines > 1)
    {
        std::vector<T> values(size_t(l.n));
        std::vector<int64_t> order(size_t(l.n));
#pragma omp for schedule(static)
        for (int64_t line = 0; line < l.lines; ++line) {
            const T* src = in + input_offset(l, line);
            for (int64_t j = 0; j < l.n; ++j) values[size_t(j)] = src[j * l.step];
            std::iota(order.begin(), order.end(), int64_t(0));
            f(line, values, order);
        }
    }
}

// Writes the first `count` entries of `order` as the line's output (k along the axis).
template <class T>
void write_line(const Tensor& values, const Tensor& indices, const LineLayout& l, int64_t count, int64_t line,
                const std::vector<T>& v, const std::vector<int64_t>& order) {
    T* ov = values.data<T>();
    int64_t* oi = indices.data<int64_t>();
    const int64_t base = (line / l.inner) * count * l.inner + line % l.inner;
    for (int64_t j = 0; j < count; ++j) {
        const int64_t src = order[size_t(j)];
        ov[base + j * l.inner] = v[size_t(src)];
        oi[base + j * l.inner] = src;
    }
}

}  // namespace

void sort(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis, bool descending) {
    dispatch_numeric(x.dtype(), "sort", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const LineLayout l = line_layout(x, axis);
        if (x.numel() == 0) return;
        for_each_line<T>(x, l, [&](int64_t line, std::vector<T>& v, std::vector<int64_t>& order) {
            if (descending) {
                std::stable_sort(order.begin(), order.end(),
                                 [&](int64_t a, int64_t b) { return less_nan_last(v[size_t(b)], v[size_t(a)]); });
            } else {
                std::stable_sort(order.begin(), order.end(),
                                 [&](int64_t a, int64_t b) { return less_nan_last(v[size_t(a)], v[size_t(b)]); });
            }
            write_line(values, indices, l, l.n, line, v, order);
        });
    });
}

void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t axis, bool largest,
          bool sorted) {
    dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const LineLayout l = line_layout(x, axis);
        if (values.numel() == 0) return;
        for_each_line<T>(x, l, [&](int64_t line, std::vector<T>& v, std::vector<int64_t>& order) {
            // A strict total order: better value first, then the lower index.
            auto better = [&](int64_t a, int64_t b) {
                const T va = v[size_t(a)], vb = v[size_t(b)];
                const bool a_wins = largest ? less_nan_last(vb, va) : less_nan_last(va, vb);
                const bool b_wins = largest ? less_nan_last(va, vb) : less_nan_last(vb, va);
                return a_wins || (!b_wins && a < b);
            };
            if (k < l.n) std::nth_element(order.begin(), order.begin() + k, order.end(), better);
            if (sorted) {
                std::sort(order.begin(), order.begin() + k, better);
            } else {
                std::sort(order.begin(), order.begin() + k);
            }
            write_line(values, indices, l, k, line, v, order);
        });
    });
}

}  // namespace wsol::cpu
