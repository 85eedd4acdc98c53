// gradcheck: compare an op's backward formula with central finite differences, in float64.
//
// For f: inputs -> outputs, a random cotangent v_k is drawn for every floating output and the
// scalar L(x) = sum_k <f_k(x), v_k> is formed. Its gradient is computed twice:
//   analytical  dL/dx  by the backward pass (one call of grad() per output),
//   numerical   (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)  for every input element j,
// and every element must agree within atol + rtol * |numerical| (PyTorch's gradcheck criterion).
// A random v checks the whole Jacobian-transpose product J^T v: a wrong row or column of J changes
// the result with probability one.
//
// Inputs must be float64 CPU leaves with requires_grad (others, e.g. index tensors, are passed
// through and not checked). They may be non-contiguous views; elements are perturbed in place
// through their strides and restored afterwards.
#pragma once

#include <functional>
#include <string>

#include "autograd/node.h"

namespace wsol {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    uint64_t seed = 1;  // for the random cotangents
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;
    std::string message;  // the first mismatch: which input, which element, both values
};

using TensorFunction = std::function<TensorList(const TensorList&)>;

GradcheckResult gradcheck(const TensorFunction& f, const TensorList& inputs, const GradcheckOptions& options = {});

}  // namespace wsol
