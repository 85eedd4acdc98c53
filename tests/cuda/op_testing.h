// Helpers for the CPU-vs-CUDA tests of whole ops (forward and backward through autograd): one
// function runs an op on CPU leaves and on GPU leaves holding the same values and compares the
// output and every input gradient, with the dtype's tolerance (tests/cuda/cuda_testing.h).
//
// The CPU computes in cpu_compute_dtype(dtype) (float32 for bfloat16) from the values the GPU
// sees (inputs rounded to `dtype` first), so the comparison measures the kernels, not the
// rounding of the inputs.
#pragma once

#include <functional>
#include <string>

#include "cuda/cuda_testing.h"

namespace wsol::testing {

using OpFunction = std::function<Tensor(const TensorList&)>;

// The input as the GPU test sees it: rounded to `dtype`, on the GPU.
inline Tensor gpu_of(const Tensor& x, DType dtype) { return to(to(x, dtype), kGPU); }

// Both devices, leaves: floating inputs require grad, the others (targets, indices) do not.
struct Leaves {
    TensorList cpu, gpu;
};
inline Leaves make_leaves(const TensorList& inputs, DType dtype) {
    Leaves l;
    const DType rd = cpu_compute_dtype(dtype);
    for (const Tensor& x : inputs) {
        if (!x.defined()) {
            l.cpu.push_back(x);
            l.gpu.push_back(x);
        } else if (is_floating(x.dtype())) {
            Tensor c = to(to(x, dtype), rd).detach();
            c.set_requires_grad(true);
            Tensor g = gpu_of(x, dtype).detach();
            g.set_requires_grad(true);
            l.cpu.push_back(c);
            l.gpu.push_back(g);
        } else {
            l.cpu.push_back(x);
            l.gpu.push_back(to(x, kGPU));
        }
    }
    return l;
}

// f on both devices: the outputs agree, and so do the gradients of every floating input for one
// random upstream gradient. `slack` scales the dtype's tolerance (sums over many elements).
inline void expect_op_matches(const std::string& what, const OpFunction& f, const TensorList& inputs, DType dtype,
                              double slack = 1.0, uint64_t seed = 99) {
    SCOPED_TRACE(what + " [" + dtype_name(dtype) + "]");
    Leaves l = make_leaves(inputs, dtype);
    Tensor yc = f(l.cpu), yg = f(l.gpu);
    ASSERT_TRUE(yg.device().is_cuda());
    if (!is_floating(yg.dtype())) {
        EXPECT_TRUE(gpu_matches(yg, yc, 0.0));
        return;
    }
    EXPECT_TRUE(gpu_matches(yg, to(yc, yg.dtype()), slack)) << "output";
    if (!yc.requires_grad()) return;
    // One upstream gradient, rounded to the GPU's dtype, for both devices.
    const Tensor upstream = to(to(random_input(yc.shape(), kFloat64, seed, -1, 1), yg.dtype()), kFloat64);
    backward(yc, to(upstream, yc.dtype()));
    backward(yg, gpu_of(upstream, yg.dtype()));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!l.cpu[i].defined() || !l.cpu[i].requires_grad()) continue;
        SCOPED_TRACE("gradient of input " + std::to_string(i));
        ASSERT_EQ(l.cpu[i].grad().defined(), l.gpu[i].grad().defined());
        if (!l.cpu[i].grad().defined()) continue;
        EXPECT_TRUE(gpu_matches(l.gpu[i].grad(), to(l.cpu[i].grad(), l.gpu[i].grad().dtype()), slack));
    }
}

// ||a - b|| / ||b|| over all elements (float64 on the CPU); infinite when a has a NaN.
inline double relative_error(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = to(a, kCPU).to_vector<double>(), y = to(b, kCPU).to_vector<double>();
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (x[i] - y[i]) * (x[i] - y[i]);
        den += y[i] * y[i];
    }
    return std::isnan(num) ? INFINITY : std::sqrt(num / std::max(den, 1e-300));
}

// Bitwise equality of two tensors of one dtype (any devices).
inline ::testing::AssertionResult same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
        return ::testing::AssertionFailure() << "dtype/shape differ";
    }
    const Tensor ca = contiguous(to(a, kCPU)), cb = contiguous(to(b, kCPU));
    const std::vector<uint8_t> x = byte_view(ca).to_vector<uint8_t>(), y = byte_view(cb).to_vector<uint8_t>();
    for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] != y[i]) return ::testing::AssertionFailure() << "byte " << i << " differs";
    }
    return ::testing::AssertionSuccess();
}

}  // namespace wsol::testing
