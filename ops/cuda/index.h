// CUDA kernels of the indexing family (ops/index.h), with the signatures of the CPU kernels
// (ops/cpu/index.h). Indices are validated by the op before these run. gather, remap and one_hot
// take every dtype; scatter_add and remap_add the numeric ones (float32, float64, bfloat16, int32,
// int64, uint8). Index tensors are int64 or int32.
//
// Determinism: scatter_add and remap_add, where several sources add into one element, never use
// atomics. scatter_add sorts the (target, source) pairs by target with a stable radix sort and
// adds each target's sources in their original order - the order of the CPU's serial loop, so the
// sums are the CPU's bit for bit in float32/float64; remap_add is a gather over inverted tables.
#pragma once

#include "ops/cpu/index.h"

namespace wsol::cuda {

using cpu::IndexTables;

// out[p] = x[p with its `axis` coordinate replaced by index[p]], for every position p of out.
void gather(const Tensor& out, const Tensor& x, int64_t axis, const Tensor& index);
// out[p with axis coordinate index[p]] += src[p], for every position p of index. out must have
// non-negative strides.
void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src);
// out[i0, i1, ...] = x[t0[i0], t1[i1], ...] (or fill where an entry is -1). out contiguous.
void remap(const Tensor& out, const Tensor& x, const IndexTables& tables, double fill);
// The transpose of remap: out[t0[i0], ...] += x[i0, ...]; out contiguous (overwritten), x contiguous.
void remap_add(const Tensor& out, const Tensor& x, const IndexTables& tables);
// out (contiguous int64, index.shape + (C)) = 1 at index, 0 elsewhere.
void one_hot(const Tensor& out, const Tensor& index);

}  // namespace wsol::cuda
