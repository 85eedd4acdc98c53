// The few NumPy numerics whose exact rounding the reported numbers depend on.
//
// wsolevaluation reports floats computed by numpy reductions; to print the same digits (not just
// nearly the same) we sum in the same order. numpy's float64 add.reduce over a contiguous array
// is a pairwise summation: below 8 elements a plain loop from 0.0; up to 128 elements eight
// interleaved partial sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus the remainder;
// above that the array is split at n/2 rounded down to a multiple of 8 and both halves recurse.
// (Checked against numpy 2.4 for every length up to 300 and a few large ones.)
#pragma once

#include <span>

namespace wsol::eval {

double numpy_sum(std::span<const double> values);

}  // namespace wsol::eval
