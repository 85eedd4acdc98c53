// Choosing the backend of an op: a plain switch on the inputs' device.
//
//   switch (backend_of("gelu", {x})) {
//       case DeviceType::CPU: cpu::unary(UnaryOp::Gelu, y, x); break;
//       case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::unary(UnaryOp::Gelu, y, x)); break;
//   }
//
// backend_of checks that all defined inputs live on one device and names the op and the devices
// when they do not. WSOL_CUDA_ONLY compiles its argument only in a CUDA build; without one, no
// tensor can be on a CUDA device, so the branch is unreachable.
#pragma once

#include <initializer_list>

#include "engine/tensor.h"

#if WSOL_CUDA
#define WSOL_CUDA_ONLY(...) __VA_ARGS__
#else
#define WSOL_CUDA_ONLY(...) WSOL_FAIL("this build of wsol has no CUDA backend")
#endif

namespace wsol {

// The device type all defined inputs share; throws naming `op` when they disagree.
DeviceType backend_of(const char* op, std::initializer_list<Tensor> inputs);

// Checks that two tensors have the same dtype; names the op and both dtypes otherwise.
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);

// Checks that a tensor is floating point (for differentiable math), naming the op.
void check_floating(const char* op, const Tensor& x);

}  // namespace wsol
