// Mixed precision switches: the bfloat16 autocast scope and the TF32 mode of float32 matrix math.
//
// ---- bf16 autocast --------------------------------------------------------------------------
// Inside an AutocastGuard the ops follow PyTorch's torch.autocast(device_type="cuda",
// dtype=torch.bfloat16) rules, for CUDA tensors only (CPU tensors never change dtype):
//   - lower-precision ops - matmul, linear, conv2d, attention: float32 inputs are cast to bfloat16
//     (autocast_lower), the op multiplies bf16 operands with float32 accumulation (cuBLASLt,
//     cuDNN, the attention kernels) and returns BFLOAT16, as torch.autocast does;
//   - float32 ops - softmax, log_softmax, layer_norm, sums/means over many elements, logsumexp,
//     norms and every loss: bf16 inputs are cast to float32 (autocast_float) and the op returns
//     float32, so reductions and losses are computed in float32;
//   - every other op runs in the dtype of its inputs (binary ops need equal dtypes: the caller
//     converts, e.g. a float32 residual stream plus a bf16 branch output).
// The casts are differentiable (to()), so gradients arrive in float32 at float32 parameters (the
// master weights); bf16 weights are not cached between calls (PyTorch caches them per region).
// The flag is per thread, like PyTorch's.
//
//   {
//       AutocastGuard autocast;                 // bf16 for this scope
//       Tensor logits = model.forward(images);  // linear/conv/attention run in bf16
//       Tensor loss = cross_entropy(logits, labels);  // float32
//   }
//
// ---- TF32 -----------------------------------------------------------------------------------
// Off by default (float32 GEMMs and convolutions are exact float32, like PyTorch's default for
// matmul). When allowed, cuBLASLt float32 GEMMs use the TF32 tensor cores (10-bit mantissa
// products, float32 accumulation: ~3e-4 relative error) and cuDNN float32 convolutions may too.
// One process-wide switch (PyTorch has one for matmul and one for cuDNN).
#pragma once

#include "engine/tensor.h"

namespace wsol {

bool autocast_enabled();
void set_autocast_enabled(bool enabled);

// Enables (or, with false, disables) bf16 autocast for the current thread within a scope.
class AutocastGuard {
public:
    explicit AutocastGuard(bool enabled = true) : previous_(autocast_enabled()) { set_autocast_enabled(enabled); }
    ~AutocastGuard() { set_autocast_enabled(previous_); }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    bool previous_;
};

// The dtype lower-precision ops use under autocast (bfloat16).
inline constexpr DType kAutocastDType = kBFloat16;

// For lower-precision ops: a float32 CUDA tensor cast to bfloat16 when autocast is on; anything
// else (and undefined tensors) returned unchanged.
Tensor autocast_lower(const Tensor& x);
// For float32 ops: a bfloat16 CUDA tensor cast to float32 when autocast is on; anything else
// returned unchanged.
Tensor autocast_float(const Tensor& x);

bool allow_tf32();
void set_allow_tf32(bool allow);

// Allows (or forbids) TF32 within a scope; process-wide.
class AllowTF32Guard {
public:
    explicit AllowTF32Guard(bool allow = true) : previous_(allow_tf32()) { set_allow_tf32(allow); }
    ~AllowTF32Guard() { set_allow_tf32(previous_); }
    AllowTF32Guard(const AllowTF32Guard&) = delete;
    AllowTF32Guard& operator=(const AllowTF32Guard&) = delete;

private:
    bool previous_;
};

}  // namespace wsol
