// CPU kernels of the indexing family (ops/index.h). Indices are validated by the caller (the op
// layer) before these run; kernels assume they are in range.
#pragma once

#include <vector>

#include "ops/index.h"

namespace wsol::cpu {

// out[p] = x[p with its `axis` coordinate replaced by index[p]], for every position p of out.
// out and index have the same shape (index may be an expanded view); x's sizes off the axis are
// at least out's. Any strides for all three. index is int64 or int32.
void gather(const Tensor& out, const Tensor& x, int64_t axis, const Tensor& index);
// out[p with axis coordinate index[p]] += src[p], for every position p of index (src is read at
// index's shape). Runs in order on one thread: several p may hit one element of out.
void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src);

// Per-axis source tables: tables[d][i] is the coordinate along axis d that output coordinate i
// reads, or -1 for "no source" (filled with `fill`); an empty table is the identity.
using IndexTables = std::vector<std::vector<int64_t>>;
// out[i0, i1, ...] = x[t0[i0], t1[i1], ...] (or fill). out is contiguous; x any strides.
void remap(const Tensor& out, const Tensor& x, const IndexTables& tables, double fill);
// The transpose of remap: out[t0[i0], t1[i1], ...] += x[i0, i1, ...], skipping -1 entries. out is
// contiguous and is zeroed first; x is contiguous. One thread (tables may map many to one).
void remap_add(const Tensor& out, const Tensor& x, const IndexTables& tables);

// out (contiguous int64, index.shape + (C)) = 0, then out[..., index[...]] = 1.
void one_hot(const Tensor& out, const Tensor& index);

}  // namespace wsol::cpu
