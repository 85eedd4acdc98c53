// Comparing an op with a PyTorch fixture case written by tools/reference/fixtures.py:case().
// A case "<name>" holds inputs <name>/x<i>, outputs <name>/y<k>, output cotangents <name>/gy<k>
// and PyTorch's input gradients <name>/gx<i> (present for inputs that required grad).
#pragma once

#include <functional>
#include <map>

#include "support/testing.h"

namespace wsol::testing {

struct FixtureCase {
    TensorList x, y, gy, gx;  // gx[i] / gy[k] undefined when absent
};

inline FixtureCase fixture_case(const TensorFile& file, const std::string& name) {
    FixtureCase c;
    auto get = [&](const std::string& key) { return file.contains(key) ? file.at(key) : Tensor(); };
    for (int i = 0; file.contains(name + "/x" + std::to_string(i)); ++i) {
        c.x.push_back(get(name + "/x" + std::to_string(i)));
        c.gx.push_back(get(name + "/gx" + std::to_string(i)));
    }
    for (int k = 0; file.contains(name + "/y" + std::to_string(k)); ++k) {
        c.y.push_back(get(name + "/y" + std::to_string(k)));
        c.gy.push_back(get(name + "/gy" + std::to_string(k)));
    }
    EXPECT_FALSE(c.x.empty() || c.y.empty()) << file.source << ": no case named '" << name << "'";
    return c;
}

// Runs f on the case's inputs converted to `dtype` (floating inputs only; index inputs keep their
// dtype), compares the outputs, backpropagates the stored cotangents and compares the input
// gradients, all within rtol/atol.
inline void expect_matches_fixture(const TensorFile& file, const std::string& name, const TensorFunction& f,
                                   double rtol = 1e-5, double atol = 1e-6, DType dtype = kFloat32) {
    SCOPED_TRACE(file.source + " case " + name);
    FixtureCase c = fixture_case(file, name);
    TensorList inputs;
    for (size_t i = 0; i < c.x.size(); ++i) {
        Tensor x = is_floating(c.x[i].dtype()) ? to(c.x[i], dtype).detach() : c.x[i];
        if (c.gx[i].defined()) {
            x = clone(x).detach();
            x.set_requires_grad(true);
        }
        inputs.push_back(x);
    }
    TensorList outputs = f(inputs);
    ASSERT_EQ(outputs.size(), c.y.size());
    Tensor total;
    for (size_t k = 0; k < outputs.size(); ++k) {
        EXPECT_TRUE(all_close(outputs[k], c.y[k], rtol, atol)) << "output " << k;
        if (c.gy[k].defined() && outputs[k].requires_grad()) {
            Tensor term = sum(mul(outputs[k], to(c.gy[k], outputs[k].dtype())));
            total = total.defined() ? add(total, term) : term;
        }
    }
    if (!total.defined()) return;
    backward(total);
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!c.gx[i].defined()) continue;
        ASSERT_TRUE(inputs[i].grad().defined()) << "no gradient reached input " << i;
        EXPECT_TRUE(all_close(inputs[i].grad(), c.gx[i], rtol, atol)) << "gradient of input " << i;
    }
}

}  // namespace wsol::testing
