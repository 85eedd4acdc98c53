// The CPU loop behind every elementwise kernel: walk N operands of one (broadcast) shape, each with
// its own strides, and hand the innermost run of elements to a kernel as raw pointers.
//
//   StridedLoop<2> loop(out.shape(), {out, in});          // out and in, in element strides
//   loop.run([](std::array<char*, 2> p, std::array<int64_t, 2> step, int64_t n) {
//       for (int64_t i = 0; i < n; ++i) ((float*)(p[0] + i*step[0]))[0] = ...;
//   });
//
// Before looping, axes of size 1 are dropped and neighbouring axes that are contiguous for every
// operand are merged, so a fully contiguous tensor becomes one long run (and the kernel's inner
// loop vectorises). Operands that broadcast carry stride 0 on the broadcast axes. Large loops are
// split across OpenMP threads; each thread gets a contiguous range of outer indices, so the result
// does not depend on the number of threads.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace wsol {

// Minimum elements per thread before a loop is split across threads.
inline constexpr int64_t kParallelGrain = 32768;

template <size_t N>
class StridedLoop {
public:
    // `shape`: the iteration shape. Each operand must have that shape or broadcast to it.
    StridedLoop(const Shape& shape, const std::array<Tensor, N>& operands) {
        const size_t ndim = shape.size();
        numel_ = shape_numel(shape);
        for (size_t k = 0; k < N; ++k) {
            const Tensor& t = operands[k];
            base_[k] = static_cast<char*>(t.raw_data());
            elem_[k] = int64_t(t.element_size());
        }
        // Per operand strides aligned to the iteration shape (0 where the operand broadcasts).
        std::vector<std::array<int64_t, N>> strides(ndim);
        for (size_t k = 0; k < N; ++k) {
            const Tensor& t = operands[k];
            const size_t lead = ndim - size_t(t.dim());
            for (size_t d = 0; d < ndim; ++d) {
                int64_t s = 0;
                if (d >= lead && t.shape()[d - lead] != 1) s = t.strides()[d - lead];
                strides[d][k] = s * elem_[k];  // bytes
            }
        }
        // Coalesce: drop size-1 axes, merge axis d into d+1 when contiguous for every operand.
        for (size_t d = 0; d < ndim; ++d) {
            if (shape[d] == 1) continue;
            if (!sizes_.empty()) {
                bool mergeable = true;
                for (size_t k = 0; k < N; ++k) {
                    if (strides_.back()[k] != strides[d][k] * shape[d]) mergeable = false;
                }
                if (mergeable) {
                    sizes_.back() *= shape[d];
                    strides_.back() = strides[d];
                    continue;
                }
            }
            sizes_.push_back(shape[d]);
            strides_.push_back(strides[d]);
        }
        if (sizes_.empty()) {  // scalar or all-ones shape: one element
            sizes_.push_back(1);
            strides_.push_back({});
        }
    }

    int64_t numel() const { return numel_; }

    // kernel(std::array<char*, N> ptrs, std::array<int64_t, N> byte_steps, int64_t count)
    template <class Kernel>
    void run(const Kernel& kernel, int64_t grain = kParallelGrain) const {
        if (numel_ == 0) return;
        const int64_t inner = sizes_.back();
        const int64_t outer = numel_ / inner;
        const std::array<int64_t, N> inner_step = strides_.back();
        auto run_range = [&](int64_t begin, int64_t end) {
            for (int64_t o = begin; o < end; ++o) {
                std::array<char*, N> ptrs = base_;
                int64_t rest = o;
                for (size_t d = sizes_.size() - 1; d-- > 0;) {
                    const int64_t idx = rest % sizes_[d];
                    rest /= sizes_[d];
                    for (size_t k = 0; k < N; ++k) ptrs[k] += idx * strides_[d][k];
                }
                kernel(ptrs, inner_step, inner);
            }
        };
        if (numel_ < 2 * grain) {  // too small to be worth waking threads
            run_range(0, outer);
            return;
        }
        if (outer == 1) {
            split_inner(kernel, inner, inner_step, grain);
            return;
        }
#pragma omp parallel
        {
            const int threads = omp_threads();
            const int id = omp_thread_id();
            const int64_t chunk = (outer + threads - 1) / threads;
            const int64_t begin = std::min<int64_t>(outer, id * chunk);
            const int64_t end = std::min<int64_t>(outer, begin + chunk);
            run_range(begin, end);
        }
    }

private:
    // One long run: split it into per-thread pieces.
    template <class Kernel>
    void split_inner(const Kernel& kernel, int64_t inner, const std::array<int64_t, N>& step, int64_t grain) const {
        const int64_t pieces = std::max<int64_t>(1, inner / grain);
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < pieces; ++p) {
            const int64_t begin = inner * p / pieces;
            const int64_t end = inner * (p + 1) / pieces;
            std::array<char*, N> ptrs = base_;
            for (size_t k = 0; k < N; ++k) ptrs[k] += begin * step[k];
            kernel(ptrs, step, end - begin);
        }
    }
    static int omp_threads();
    static int omp_thread_id();

    int64_t numel_ = 0;
    std::array<char*, N> base_{};
    std::array<int64_t, N> elem_{};
    std::vector<int64_t> sizes_;                   // coalesced sizes, innermost last
    std::vector<std::array<int64_t, N>> strides_;  // coalesced byte strides per operand
};

// Thin wrappers so this header does not need <omp.h> (and builds without OpenMP).
int parallel_thread_count();
int parallel_thread_id();
template <size_t N>
int StridedLoop<N>::omp_threads() { return parallel_thread_count(); }
template <size_t N>
int StridedLoop<N>::omp_thread_id() { return parallel_thread_id(); }

}  // namespace wsol
