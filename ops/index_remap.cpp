// pad, roll and flip: ops that move every element by a rule applied to each axis separately.
//
// Each op builds, for every axis it touches, a table "output coordinate i reads input
// coordinate t[i]" (-1: no source, take the pad value), and one kernel (cpu::remap) applies the
// tables. For example, along an axis of size 4:
//   pad (2, 1) constant   t = [-1, -1, 0, 1, 2, 3, -1]
//   pad (2, 1) reflect    t = [ 2,  1, 0, 1, 2, 3,  2]     (mirror, edge not repeated)
//   pad (2, 1) replicate  t = [ 0,  0, 0, 1, 2, 3,  3]
//   roll 1                t = [3, 0, 1, 2]
//   flip                  t = [3, 2, 1, 0]
// Backward: roll and flip are permutations, undone by rolling back / flipping again. Constant
// padding is undone by reading the gradient at i + before (a remap too); reflect and replicate
// send several outputs to one input, so their gradient is summed back with cpu::remap_add.
#include <algorithm>

#include "autograd/node.h"
#include "ops/cpu/index.h"
#include "ops/dispatch.h"
#include "ops/index.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/index.h"
#endif

namespace wsol {

namespace {

using cpu::IndexTables;

const char* pad_mode_name(PadMode mode) {
    switch (mode) {
        case PadMode::Constant: return "constant";
        case PadMode::Reflect: return "reflect";
        case PadMode::Replicate: return "replicate";
    }
    return "unknown";
}

// y (shape) = remap(x, tables), via the backend of x.
Tensor run_remap(const char* op, const Tensor& x, const Shape& shape, const IndexTables& tables, double fill) {
    Tensor y = Tensor::empty(shape, x.dtype(), x.device());
    switch (backend_of(op, {x})) {
        case DeviceType::CPU: cpu::remap(y, x, tables, fill); break;
        case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::remap(y, x, tables, fill)); break;
    }
    return y;
}

// The table of one padded axis of `size`, padded by (before, after).
std::vector<int64_t> pad_table(PadMode mode, int64_t size, int64_t before, int64_t after) {
    std::vector<int64_t> table(size_t(size + before + after));
    for (int64_t i = 0; i < int64_t(table.size()); ++i) {
        int64_t j = i - before;
        switch (mode) {
            case PadMode::Constant:
                if (j < 0 || j >= size) j = -1;
                break;
            case PadMode::Reflect:
                if (j < 0) j = -j;
                if (j >= size) j = 2 * (size - 1) - j;
                break;
            case PadMode::Replicate: j = std::clamp<int64_t>(j, 0, size - 1); break;
        }
        table[size_t(i)] = j;
    }
    return table;
}

Tensor dense(const Tensor& x) {
    if (x.is_contiguous()) return x;
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_into(out, x);
    return out;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
    WSOL_CHECK(x.defined(), "pad: undefined input");
    WSOL_CHECK(pads.size() % 2 == 0, "pad: padding must come in (before, after) pairs, got ", pads.size(), " values");
    WSOL_CHECK(int64_t(pads.size()) <= 2 * x.dim(), "pad: ", pads.size(), " padding values for a ", x.dim(),
               "-D input ", shape_str(x.shape()), " (at most ", 2 * x.dim(), ")");
    WSOL_CHECK(mode == PadMode::Constant || value == 0.0, "pad: a fill value is only used by constant padding");
    const int64_t nd = x.dim();
    IndexTables forward(x.shape().size()), inverse(x.shape().size());
    Shape shape = x.shape();
    for (size_t k = 0; k < pads.size() / 2; ++k) {
        const int64_t axis = nd - 1 - int64_t(k);
        const int64_t size = x.size(axis), before = pads[2 * k], after = pads[2 * k + 1];
        const std::string where = std::string("pad: ") + pad_mode_name(mode) + " padding (" + std::to_string(before) +
                                  ", " + std::to_string(after) + ") of axis " + std::to_string(axis) + " of size " +
                                  std::to_string(size);
        if (mode == PadMode::Constant) {
            WSOL_CHECK(size + before + after >= 0, where, " would leave a negative size");
        } else {
            WSOL_CHECK(before >= 0 && after >= 0, where, ": padding must be non-negative");
            WSOL_CHECK(size > 0, where, ": cannot pad an empty axis");
            WSOL_CHECK(mode != PadMode::Reflect || (before < size && after < size), where,
                       ": reflect padding must be smaller than the axis size");
        }
        shape[size_t(axis)] = size + before + after;
        forward[size_t(axis)] = pad_table(mode, size, before, after);
        // Constant padding's inverse reads the gradient at i + before (-1 where the pad cropped i).
        inverse[size_t(axis)] = pad_table(PadMode::Constant, shape[size_t(axis)], -before, -after);
    }
    Tensor y = run_remap("pad", x, shape, forward, value);
    if (any_requires_grad({x})) {
        record_op("pad", {x}, {y},
                  [mode, forward, inverse, in_shape = x.shape()](const TensorList& g, const GradMask&) {
                      if (mode == PadMode::Constant)
                          return TensorList{run_remap("pad backward", g[0], in_shape, inverse, 0.0)};
                      Tensor gx = Tensor::empty(in_shape, g[0].dtype(), g[0].device());
                      switch (backend_of("pad backward", {g[0]})) {
                          case DeviceType::CPU: cpu::remap_add(gx, dense(g[0]), forward); break;
                          case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::remap_add(gx, dense(g[0]), forward)); break;
                      }
                      return TensorList{gx};
                  });
    }
    return y;
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& axes) {
    WSOL_CHECK(x.defined(), "roll: undefined input");
    if (axes.empty()) {
        WSOL_CHECK(shifts.size() == 1, "roll: without axes, expected exactly one shift, got ", shifts.size());
        return reshape(roll(flatten(x), shifts, {0}), x.shape());
    }
    WSOL_CHECK(shifts.size() == axes.size(), "roll: ", shifts.size(), " shifts for ", axes.size(), " axes");
    IndexTables tables(size_t(x.dim()));
    for (size_t k = 0; k < axes.size(); ++k) {
        const int64_t axis = wrap_axis(axes[k], x.dim(), "roll");
        const int64_t size = x.size(axis);
        if (size == 0) continue;
        // Rolling the same axis twice adds the shifts (as torch.roll): compose with the table so far.
        std::vector<int64_t> table(static_cast<size_t>(size));
        const std::vector<int64_t>& before = tables[size_t(axis)];
        for (int64_t i = 0; i < size; ++i) {
            const int64_t j = ((i - shifts[k]) % size + size) % size;
            table[size_t(i)] = before.empty() ? j : before[size_t(j)];
        }
        tables[size_t(axis)] = table;
    }
    Tensor y = run_remap("roll", x, x.shape(), tables, 0.0);
    if (any_requires_grad({x})) {
        record_op("roll", {x}, {y}, [shifts, axes](const TensorList& g, const GradMask&) {
            std::vector<int64_t> back(shifts.size());
            for (size_t k = 0; k < shifts.size(); ++k) back[k] = -shifts[k];
            return TensorList{roll(g[0], back, axes)};
        });
    }
    return y;
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& axes) {
    WSOL_CHECK(x.defined(), "flip: undefined input");
    IndexTables tables(size_t(x.dim()));
    for (int64_t a : axes) {
        const int64_t axis = wrap_axis(a, x.dim(), "flip");
        WSOL_CHECK(tables[size_t(axis)].empty() || x.size(axis) == 0, "flip: axis ", axis, " is listed twice");
        const int64_t size = x.size(axis);
        std::vector<int64_t> table(static_cast<size_t>(size));
        for (int64_t i = 0; i < size; ++i) table[size_t(i)] = size - 1 - i;
        tables[size_t(axis)] = table;
    }
    Tensor y = run_remap("flip", x, x.shape(), tables, 0.0);
    if (any_requires_grad({x})) {
        record_op("flip", {x}, {y},
                  [axes](const TensorList& g, const GradMask&) { return TensorList{flip(g[0], axes)}; });
    }
    return y;
}

}  // namespace wsol
