// Mixed precision switches: the bfloat16 autocast scope and the TF32 mode of float32 matrix math.
//
// ---- bf16 autocast --------------------------------------------------------------------------
// Inside an AutocastGuard the ops follow PyTorch's torch.autocast(device_type="cuda",
// dtype=torch.bfloat16) rules, for CUDA tensors only (CPU tensors never change dtype: on the CPU
// the scope is inert, every op computes exactly as outside it):
//   - lower-precision ops - matmul, bmm, linear, conv2d, attention: float32 inputs are cast to
//     bfloat16 (autocast_lower), the op multiplies bf16 operands with float32 accumulation
//     (cuBLASLt, cuDNN, the attention kernels) and returns BFLOAT16, as torch.autocast does;
//   - float32 ops - softmax, log_softmax, layer_norm, batch_norm, sum (hence mean and var),
//     logsumexp and every loss: bf16 inputs are cast to float32 (autocast_float) and the op
//     returns float32, so reductions, normalisations and losses are computed in float32;
//   - promoting ops - the binary elementwise ops (add, sub, mul, div, pow, maximum, minimum,
//     where, comparisons) and cat/stack: when their floating inputs mix float32 and bfloat16, the
//     bfloat16 ones are cast to float32 (PyTorch's type promotion; outside autocast wsol insists
//     on equal dtypes). That is how a float32 residual stream takes a bf16 branch output;
//   - every other op runs in the dtype of its inputs.
// The casts are differentiable (to()), so gradients arrive in float32 at float32 parameters (the
// master weights); bf16 copies of the weights are not cached between calls (PyTorch caches them
// per region). The flag is per thread, like PyTorch's, and autocast never applies inside a
// backward pass (autograd's backward_running()): the backward of each op computes in the dtypes
// its forward used, whether backward() is called inside the scope or after it.
//
//   {
//       AutocastGuard autocast;                 // bf16 for this scope
//       Tensor logits = model.forward(images);  // linear/conv/attention run in bf16
//       Tensor loss = cross_entropy(logits, labels);  // float32
//   }
//   backward(loss);                             // float32 gradients for the float32 weights
//
// ---- TF32 -----------------------------------------------------------------------------------
// Off by default (float32 GEMMs and convolutions are exact float32, like PyTorch's default for
// matmul). When allowed, cuBLASLt float32 GEMMs use the TF32 tensor cores (10-bit mantissa
// products, float32 accumulation: ~3e-4 relative error) and cuDNN float32 convolutions may too.
// One process-wide switch (PyTorch has one for matmul and one for cuDNN).
#pragma once

#include <initializer_list>
#include <vector>

#include "engine/tensor.h"

namespace wsol {

// The thread's autocast flag, as set by AutocastGuard.
bool autocast_enabled();
void set_autocast_enabled(bool enabled);
// Whether the ops autocast right now: the flag is set and no backward pass is running.
bool autocast_active();

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
// For promoting ops: true when autocast is on and the defined inputs are CUDA tensors that mix
// float32 and bfloat16 (then the op passes each through autocast_float).
bool autocast_mixed(std::initializer_list<Tensor> inputs);
bool autocast_mixed(const std::vector<Tensor>& inputs);

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
