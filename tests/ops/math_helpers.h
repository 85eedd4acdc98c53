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

// The same values as x in a non-contiguous layout: every stride doubled (x is written into the
// even slots of a (..., 2) buffer and selected back), for any x with more than one element.
// Gradients flow back to x.
inline Tensor non_contiguous(const Tensor& x) {
    Tensor t = select(mul(unsqueeze(x, -1), ones({2}, x.dtype())), -1, 0);
    EXPECT_TRUE(x.numel() <= 1 || !t.is_contiguous());
    return t;
}

}  // namespace wsol::testing
