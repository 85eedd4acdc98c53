// Running the backward pass: gradients of a scalar (or of a tensor with a given upstream gradient)
// with respect to every leaf that requires grad, accumulated into the leaves' `.grad`.
#pragma once

#include "autograd/node.h"

namespace wsol {

// Computes d(root)/d(leaf) for every leaf reachable from `root` and adds it into leaf.grad().
// `root` must be a scalar unless `grad` (same shape as root) is given. With retain_graph false
// (the default) the saved tensors are freed as the pass goes, and a second backward through the
// same graph is an error.
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false);

// Gradients of `root` with respect to `inputs`, returned instead of accumulated into `.grad`
// (leaves' .grad is left untouched). Used by gradcheck and by losses that need a gradient as a
// value. An input the root does not depend on gets an undefined tensor.
TensorList grad(const Tensor& root, const TensorList& inputs, const Tensor& grad = Tensor(),
                bool retain_graph = false);

// True on a thread while it runs a backward pass (inside backward() or grad()). Forward-only modes
// consult it: bf16 autocast (ops/autocast.h) is inactive there, so every op's backward computes in
// the dtypes its forward used.
bool backward_running();

}  // namespace wsol
