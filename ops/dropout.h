// Dropout and drop-path (stochastic depth), with masks drawn from an explicit Generator so a run
// is reproducible from its seed (ops/random.h: the same seed gives the same mask on any device
// and thread count).
//
// dropout:   each element is kept with probability 1 - p and scaled by 1 / (1 - p), so the
//            expected value is unchanged (torch.nn.functional.dropout). p == 1 gives zeros.
// drop_path: one Bernoulli(1 - p) draw per sample along axis 0, the whole sample kept and scaled by
//            1 / (1 - p) or zeroed (timm's drop_path with scale_by_keep=True). p == 1 gives zeros.
// Both return x itself when !training or p == 0 (no draw is taken from the generator then).
// The gradient is the same mask times the same scale.
#pragma once

#include "engine/generator.h"
#include "engine/tensor.h"

namespace wsol {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace wsol
