// Helpers shared by the tests of the math ops (softmax, norm, dropout, loss, sort) and of the
// core-op fixtures: the fixture files, loaded once, and a differentiable non-contiguous copy.
#pragma once

#include "support/fixtures.h"

namespace wsol::testing {

inline const TensorFile& math_fixtures() {
    static const TensorFile file = load_safetensors(fixture_path("ops/math.safetensors"));
    return file;
}

inline const TensorFile& core_fixtures() {
    static const TensorFile file = load_safetensors(fixture_path("ops/core.safetensors"));
    return file;
}

// The same values as x in a non-contiguous layout (axes 0 and 1 swapped in memory); gradients
// flow back to x. Needs x.dim() >= 2.
inline Tensor non_contiguous(const Tensor& x) {
    Tensor t = transpose(clone(transpose(x, 0, 1)), 0, 1);
    EXPECT_FALSE(t.is_contiguous() && x.size(0) > 1 && x.size(1) > 1);
    return t;
}

}  // namespace wsol::testing
