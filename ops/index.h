// Joining, splitting, indexing and rearranging tensors, as their torch namesakes:
//   cat / stack                 - join along an existing / a new axis (copies);
//   split / chunk               - views of consecutive pieces along an axis (no copy);
//   index_select / gather       - pick elements by an index tensor;
//   scatter_add                 - the reverse of gather: add values at indexed positions;
//   masked_fill                 - replace the elements where a (broadcast) bool mask is true;
//   pad / roll / flip           - move elements by a per-axis rule (padding, rotation, reversal);
//   one_hot                     - class indices to 0/1 rows (not differentiable).
// These ops work on every dtype where they only move data (cat, stack, index_select, gather,
// pad, roll, flip, masked_fill); scatter_add needs a numeric dtype. Index tensors are int64 or
// int32. An index outside its axis is an error naming the index value, its position in the index
// tensor and the valid range (negative indices are not wrapped, as in PyTorch).
// Gradients: cat/stack/split/chunk slice or place the gradient; index_select and gather scatter
// it back (adding where an element was picked twice); scatter_add passes it to x and gathers it
// for src; pad/roll/flip move it back by the inverse rule.
#pragma once

#include <vector>

#include "autograd/node.h"
#include "engine/tensor.h"

namespace wsol {

// All tensors share dtype, device and number of dimensions, and their sizes except along `axis`.
Tensor cat(const TensorList& tensors, int64_t axis = 0);
// All tensors share one shape; the result has a new axis of size tensors.size() at `axis`.
Tensor stack(const TensorList& tensors, int64_t axis = 0);

// Pieces of `split_size` along axis (the last one smaller when the size does not divide).
TensorList split(const Tensor& x, int64_t split_size, int64_t axis = 0);
// Pieces of the given sizes, which must sum to the axis size.
TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis = 0);
// torch.chunk: pieces of ceil(size / chunks), so there may be fewer than `chunks` pieces.
TensorList chunk(const Tensor& x, int64_t chunks, int64_t axis = 0);

// x with `axis` replaced by the entries index[0..n) (index is 1-D): y.shape[axis] = n.
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);
// y[..., i, ...] = x[..., index[..., i, ...], ...] along axis; index has x's number of dimensions
// and sizes at most x's off the axis; y has index's shape.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// y = x, then y[..., index[p], ...] += src[p] for every position p of index (along axis); index
// sizes at most src's everywhere and at most x's off the axis.
Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);

// where(mask, value, x): mask is bool and broadcasts with x; the result has the broadcast shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

enum class PadMode { Constant, Reflect, Replicate };
// As torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the LAST axis,
// i.e. {left, right, top, bottom, front, back}. Constant pads with `value` (negative pads crop);
// Reflect mirrors without repeating the edge (pads must be smaller than the axis); Replicate
// repeats the edge element. Any number of trailing axes may be padded.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::Constant, double value = 0.0);

// Rotates elements by shifts[k] along axes[k] (positive = towards higher indices). With no axes,
// x is rolled as a flat sequence by the single shift and keeps its shape.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& axes = {});
// Reverses the order of elements along each listed axis.
Tensor flip(const Tensor& x, const std::vector<int64_t>& axes);

// int64 tensor index.shape + (num_classes) with a 1 at each index; num_classes -1 = max(index)+1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);

}  // namespace wsol
