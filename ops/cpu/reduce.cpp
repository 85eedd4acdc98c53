// CPU reductions. The input's axes are split into kept and reduced ones (size-1 axes dropped).
// Two loop shapes cover every case with contiguous inner loops where the layout allows:
//   inner reduction - the innermost axis is reduced: each output element sums a strided block;
//   outer reduction - the innermost axis is kept (e.g. a bias gradient, (rows, C) -> (C)): each
//                     output row accumulates whole input rows into a double buffer of length C.
// Floating sums accumulate in double; max/min propagate NaN like PyTorch.
#include "ops/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/dispatch.h"
#include "engine/strided_loop.h"

namespace wsol::cpu {

namespace {

struct Dim {
    int64_t size;
    int64_t stride;  // input stride, elements
};

// Accumulator type: double for floating inputs, int64 for integers.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
struct Combine {
    ReduceOp op;
    Acc<T> init() const {
        if (op == ReduceOp::Sum) return Acc<T>(0);
        if constexpr (std::is_floating_point_v<T>) {
            return op == ReduceOp::Max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
        } else {
            return op == ReduceOp::Max ? Acc<T>(std::numeric_limits<T>::lowest()) : Acc<T>(std::numeric_limits<T>::max());
        }
    }
    Acc<T> operator()(Acc<T> acc, T v) const {
        const Acc<T> x = Acc<T>(v);
        if (op == ReduceOp::Sum) return acc + x;
        if constexpr (std::is_floating_point_v<T>) {
            if (x != x || acc != acc) return std::numeric_limits<double>::quiet_NaN();
        }
        return op == ReduceOp::Max ? (x > acc ? x : acc) : (x < acc ? x : acc);
    }
};

// Walks a multi-index over `dims` (outermost first), calling f(offset) for each element.
template <class F>
void for_each_offset(const std::vector<Dim>& dims, int64_t base, F&& f) {
    if (dims.empty()) {
        f(base);
        return;
    }
    std::vector<int64_t> idx(dims.size(), 0);
    int64_t offset = base;
    const size_t last = dims.size() - 1;
    while (true) {
        for (int64_t i = 0; i < dims[last].size; ++i) f(offset + i * dims[last].stride);
        size_t d = last;
        while (true) {
            if (d == 0) return;
            --d;
            idx[d] += 1;
            offset += dims[d].stride;
            if (idx[d] < dims[d].size) break;
            offset -= idx[d] * dims[d].stride;
            idx[d] = 0;
        }
    }
}

int64_t offset_of(const std::vector<Dim>& dims, int64_t linear) {
    int64_t offset = 0;
    for (size_t d = dims.size(); d-- > 0;) {
        offset += (linear % dims[d].size) * dims[d].stride;
        linear /= dims[d].size;
    }
    return offset;
}

int64_t count_of(const std::vector<Dim>& dims) {
    int64_t n = 1;
    for (const Dim& d : dims) n *= d.size;
    return n;
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes) {
    std::vector<Dim> kept, reduced;
    for (int64_t d = 0; d < x.dim(); ++d) {
        const int64_t size = x.shape()[size_t(d)];
        if (size == 1) continue;
        const bool is_reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
        (is_reduced ? reduced : kept).push_back({size, x.strides()[size_t(d)]});
    }
    const T* in = x.data<T>();
    T* o = out.data<T>();
    const Combine<T> combine{op};
    const int64_t n_out = count_of(kept);
    const int64_t n_red = count_of(reduced);
    const bool parallel = n_out * n_red >= 2 * kParallelGrain;

    if (x.numel() == 0) {  // empty reduction: identity (sum 0); max/min of nothing is an error upstream
#pragma omp parallel for if (parallel)
        for (int64_t i = 0; i < out.numel(); ++i) o[i] = convert<T>(combine.init());
        return;
    }

    const bool inner = kept.empty() || (!reduced.empty() && reduced.back().stride < kept.back().stride);
    if (inner) {
        // Each output element: combine its whole reduced block.
#pragma omp parallel for schedule(static) if (parallel)
        for (int64_t i = 0; i < n_out; ++i) {
            Acc<T> acc = combine.init();
            for_each_offset(reduced, offset_of(kept, i), [&](int64_t off) { acc = combine(acc, in[off]); });
            o[i] = convert<T>(acc);
        }
        return;
    }
    // Outer reduction: the innermost kept axis runs contiguous in the output.
    const Dim row = kept.back();
    std::vector<Dim> outer(kept.begin(), kept.end() - 1);
    const int64_t n_rows = count_of(outer);
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t r = 0; r < n_rows; ++r) {
        std::vector<Acc<T>> acc(size_t(row.size), combine.init());
        const int64_t base = offset_of(outer, r);
        for_each_offset(reduced, base, [&](int64_t off) {
            const T* src = in + off;
            if (row.stride == 1) {
                for (int64_t c = 0; c < row.size; ++c) acc[size_t(c)] = combine(acc[size_t(c)], src[c]);
            } else {
                for (int64_t c = 0; c < row.size; ++c) acc[size_t(c)] = combine(acc[size_t(c)], src[c * row.stride]);
            }
        });
        for (int64_t c = 0; c < row.size; ++c) o[r * row.size + c] = convert<T>(acc[size_t(c)]);
    }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Axes& axes) {
    dispatch_numeric(x.dtype(), op == ReduceOp::Sum ? "sum" : (op == ReduceOp::Max ? "amax" : "amin"), [&](auto tag) {
        reduce_typed<typename decltype(tag)::type>(op, out, x, axes);
    });
}

void arg_reduce(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t axis) {
    dispatch_numeric(x.dtype(), op == ReduceOp::Max ? "max" : "min", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = x.shape()[size_t(axis)];
        const int64_t step = x.strides()[size_t(axis)];
        std::vector<Dim> others;
        for (int64_t d = 0; d < x.dim(); ++d) {
            if (d != axis) others.push_back({x.shape()[size_t(d)], x.strides()[size_t(d)]});
        }
        const T* in = x.data<T>();
        T* v = values.data<T>();
        int64_t* idx = indices.data<int64_t>();
        const int64_t n_out = values.numel();
#pragma omp parallel for schedule(static) if (n_out * n >= 2 * kParallelGrain)
        for (int64_t i = 0; i < n_out; ++i) {
            const T* p = in + offset_of(others, i);
            T best = p[0];
            int64_t best_index = 0;
            for (int64_t j = 1; j < n; ++j) {
                const T c = p[j * step];
                bool better = op == ReduceOp::Max ? c > best : c < best;
                if constexpr (std::is_floating_point_v<T>) {
                    if (best != best) better = false;     // a NaN already won
                    else if (c != c) better = true;       // the first NaN wins
                }
                if (better) {
                    best = c;
                    best_index = j;
                }
            }
            v[i] = best;
            idx[i] = best_index;
        }
    });
}

void cumsum(const Tensor& out, const Tensor& x, int64_t axis, bool reverse) {
    dispatch_numeric(x.dtype(), "cumsum", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = x.shape()[size_t(axis)];
        const int64_t in_step = x.strides()[size_t(axis)];
        const int64_t out_step = out.strides()[size_t(axis)];
        std::vector<Dim> in_others, out_others;
        for (int64_t d = 0; d < x.dim(); ++d) {
            if (d == axis) continue;
            in_others.push_back({x.shape()[size_t(d)], x.strides()[size_t(d)]});
            out_others.push_back({out.shape()[size_t(d)], out.strides()[size_t(d)]});
        }
        const T* in = x.data<T>();
        T* o = out.data<T>();
        const int64_t lines = n == 0 ? 0 : x.numel() / n;
#pragma omp parallel for schedule(static) if (x.numel() >= 2 * kParallelGrain)
        for (int64_t i = 0; i < lines; ++i) {
            const T* p = in + offset_of(in_others, i);
            T* q = o + offset_of(out_others, i);
            Acc<T> acc = 0;
            for (int64_t k = 0; k < n; ++k) {
                const int64_t j = reverse ? n - 1 - k : k;
                acc += Acc<T>(p[j * in_step]);
                q[j * out_step] = T(acc);
            }
        }
    });
}

}  // namespace wsol::cpu
