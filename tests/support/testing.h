// Shared helpers for the test suites: tensor comparison with a readable report, seeded random
// inputs, fixture loading and gradcheck assertions.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "autograd/gradcheck.h"
#include "engine/safetensors.h"
#include "ops/ops.h"

namespace wsol::testing {

inline std::string fixture_path(const std::string& name) { return std::string(WSOL_FIXTURES_DIR) + "/" + name; }
inline std::string source_path(const std::string& rel) { return std::string(WSOL_SOURCE_DIR) + "/" + rel; }

// |actual - expected| <= atol + rtol * |expected| everywhere (and equal shapes; NaN matches NaN).
inline ::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5,
                                            double atol = 1e-6) {
    if (actual.shape() != expected.shape()) {
        return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs expected "
                                             << shape_str(expected.shape());
    }
    const std::vector<double> a = actual.to_vector<double>();
    const std::vector<double> e = expected.to_vector<double>();
    double worst = 0.0, worst_budget_use = 0.0;
    size_t worst_i = 0, failures = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(e[i])) continue;
        if (std::isinf(e[i]) && a[i] == e[i]) continue;
        const double err = std::fabs(a[i] - e[i]);
        const double budget = atol + rtol * std::fabs(e[i]);
        const double use = err == 0.0 ? 0.0 : err / budget;  // exact match passes even with a zero budget
        if (!(use <= 1.0)) ++failures;
        if (!(use <= worst_budget_use)) {
            worst_budget_use = use;
            worst = err;
            worst_i = i;
        }
    }
    if (failures == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << failures << " of " << a.size() << " elements differ; worst at flat index "
                                         << worst_i << ": " << a[worst_i] << " vs " << e[worst_i] << " (|diff| " << worst
                                         << ", " << worst_budget_use * 100.0 << "% of budget)";
}

// A float64 leaf with requires_grad, uniform in [low, high), from a fixed seed.
inline Tensor random_leaf(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0,
                          DType dtype = kFloat64) {
    Generator gen(seed);
    Tensor t = rand_uniform(shape, gen, low, high, dtype);
    t.set_requires_grad(true);
    return t;
}

inline Tensor random_tensor(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0,
                            DType dtype = kFloat32) {
    Generator gen(seed);
    return rand_uniform(shape, gen, low, high, dtype);
}

// A non-contiguous float64 leaf with the given logical shape: the transpose of a fresh tensor.
inline Tensor random_strided_leaf(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
    EXPECT_GE(shape.size(), 2u);
    Shape swapped = shape;
    std::swap(swapped[0], swapped[1]);
    Generator gen(seed);
    Tensor base = rand_uniform(swapped, gen, low, high, kFloat64);
    Tensor t = transpose(base, 0, 1);  // base requires no grad, so t is a leaf view
    t.set_requires_grad(true);
    return t;
}

inline ::testing::AssertionResult gradcheck_ok(const TensorFunction& f, const TensorList& inputs,
                                               GradcheckOptions options = {}) {
    GradcheckResult r = gradcheck(f, inputs, options);
    if (r.ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << r.message;
}

// Expects `statement` to throw wsol::Error whose message contains `fragment`.
#define EXPECT_WSOL_ERROR(statement, fragment)                                                       \
    do {                                                                                             \
        try {                                                                                        \
            statement;                                                                               \
            ADD_FAILURE() << "expected wsol::Error containing \"" << (fragment) << "\"";             \
        } catch (const ::wsol::Error& e) {                                                           \
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)                       \
                << "message was: " << e.what();                                                     \
        }                                                                                            \
    } while (0)

}  // namespace wsol::testing
