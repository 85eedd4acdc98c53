// Helpers for the CPU-vs-CUDA tests (the third oracle of ARCHITECTURE.md): fresh random inputs,
// poisoned outputs, CPU references for dtypes the CPU kernels lack, and dtype-scaled tolerances.
//
// Every test starts with WSOL_REQUIRE_GPU(), which reports the test as SKIPPED when the build has
// no CUDA backend or the machine no CUDA device. The kernel calls themselves sit inside
// `#if WSOL_CUDA` so that the CPU-only build compiles (and skips) the same files.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "engine/gpu.h"
#include "support/testing.h"

#define WSOL_REQUIRE_GPU()                                                                  \
    do {                                                                                    \
        if (!::wsol::cuda_compiled()) GTEST_SKIP() << "this build has no CUDA backend";     \
        if (::wsol::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine"; \
    } while (0)

namespace wsol::testing {

inline const Device kGPU{DeviceType::CUDA, 0};

// Uniform random values in [low, high) of `dtype` on `device`, fresh for each seed (drawn in
// float64 on the CPU and converted, so integer dtypes get truncated values).
inline Tensor random_input(const Shape& shape, DType dtype, uint64_t seed, double low = -1.0, double high = 1.0,
                           Device device = kCPU) {
    Generator gen(seed);
    Tensor x = rand_uniform(shape, gen, low, high, kFloat64);
    return to(to(x, dtype), device);
}

// The same storage seen as raw bytes (for poisoning any dtype and comparing bool results exactly).
inline Tensor byte_view(const Tensor& t) {
    EXPECT_TRUE(t.is_contiguous());
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage();
    impl->shape = {t.numel() * int64_t(t.element_size())};
    impl->strides = {1};
    impl->offset = t.offset() * int64_t(t.element_size());
    impl->dtype = kUInt8;
    return Tensor(impl);
}

// Fills a tensor with garbage a kernel must overwrite: NaN for floating dtypes, bytes 0xA5 for the
// others (an unlikely integer, and not a valid bool).
inline void poison(const Tensor& t) {
    NoGradGuard no_grad;
    if (is_floating(t.dtype()) && t.is_contiguous()) {
        fill_(t, std::nan(""));
    } else if (t.is_contiguous()) {
        fill_(byte_view(t), 165.0);
    } else {
        fill_(t, is_floating(t.dtype()) ? std::nan("") : 77.0);
    }
}

// A poisoned, contiguous tensor on the GPU.
inline Tensor poisoned(const Shape& shape, DType dtype) {
    Tensor t = Tensor::empty(shape, dtype, kGPU);
    poison(t);
    return t;
}

// Relative tolerance for comparing a GPU result of `dtype` with a CPU reference.
inline double rtol_for(DType dtype) {
    switch (dtype) {
        case kFloat64: return 1e-12;
        case kFloat32: return 1e-5;
        case kBFloat16: return 1e-2;
        case kFloat16: return 2e-3;
        default: return 0.0;  // integers and bool: exact
    }
}
inline double atol_for(DType dtype) {
    switch (dtype) {
        case kFloat64: return 1e-12;
        case kFloat32: return 1e-6;
        case kBFloat16: return 1e-2;
        case kFloat16: return 1e-3;
        default: return 0.0;
    }
}

// GPU result vs CPU reference: floating within the dtype's tolerance (scaled by `slack`), the
// rest exact (bool compared byte by byte, so a poisoned 0xA5 byte fails).
inline ::testing::AssertionResult gpu_matches(const Tensor& gpu, const Tensor& cpu, double slack = 1.0) {
    if (gpu.dtype() != cpu.dtype()) {
        return ::testing::AssertionFailure() << "dtype " << dtype_name(gpu.dtype()) << " vs " << dtype_name(cpu.dtype());
    }
    if (gpu.shape() != cpu.shape()) {
        return ::testing::AssertionFailure() << "shape " << shape_str(gpu.shape()) << " vs " << shape_str(cpu.shape());
    }
    if (is_floating(gpu.dtype())) {
        // NaN in the GPU result where the reference has a number is a mismatch (all_close checks it).
        return all_close(to(gpu, kCPU), cpu, rtol_for(gpu.dtype()) * slack, atol_for(gpu.dtype()) * slack);
    }
    const Tensor g = contiguous(to(gpu, kCPU)), c = contiguous(cpu);
    const std::vector<uint8_t> gb = byte_view(g).to_vector<uint8_t>(), cb = byte_view(c).to_vector<uint8_t>();
    for (size_t i = 0; i < gb.size(); ++i) {
        if (gb[i] != cb[i]) {
            return ::testing::AssertionFailure() << "byte " << i << " differs: " << int(gb[i]) << " vs " << int(cb[i])
                                                 << " (" << dtype_name(gpu.dtype()) << ")";
        }
    }
    return ::testing::AssertionSuccess();
}

// Dtypes the CPU kernels lack (bfloat16) are computed on the CPU in float32 and rounded.
inline DType cpu_compute_dtype(DType dtype) { return dtype == kBFloat16 ? kFloat32 : dtype; }
inline Tensor on_cpu_as(const Tensor& t, DType dtype) { return t.defined() ? to(to(t, kCPU), dtype) : t; }

inline std::string dtype_label(DType dtype) { return dtype_name(dtype); }

}  // namespace wsol::testing
