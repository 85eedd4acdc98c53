#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/backward.h"

namespace wsol {

namespace {

// splitmix64: a tiny deterministic source for the cotangents (independent of the Philox streams).
double next_uniform(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-53 * 2.0 - 1.0;  // uniform in [-1, 1)
}

double weighted_sum(const TensorList& outputs, const std::vector<std::vector<double>>& cotangents) {
    double total = 0.0;
    for (size_t k = 0; k < outputs.size(); ++k) {
        if (cotangents[k].empty()) continue;
        const std::vector<double> values = outputs[k].to_vector<double>();
        for (size_t i = 0; i < values.size(); ++i) total += values[i] * cotangents[k][i];
    }
    return total;
}

// Storage index of the j-th element (row-major order) of a strided tensor.
int64_t storage_index(const Tensor& t, int64_t j) {
    int64_t index = t.offset();
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
        const int64_t size = t.shape()[size_t(d)];
        index += (j % size) * t.strides()[size_t(d)];
        j /= size;
    }
    return index;
}

}  // namespace

GradcheckResult gradcheck(const TensorFunction& f, const TensorList& inputs, const GradcheckOptions& options) {
    GradcheckResult result;
    TensorList checked;  // inputs that require grad
    for (const Tensor& x : inputs) {
        if (!x.defined() || !x.requires_grad()) continue;
        WSOL_CHECK(x.dtype() == kFloat64 && x.device().is_cpu() && x.is_leaf(),
                   "gradcheck: differentiable inputs must be float64 CPU leaves, got ", dtype_name(x.dtype()), " on ",
                   x.device().str());
        checked.push_back(x);
    }
    WSOL_CHECK(!checked.empty(), "gradcheck: no input requires grad");

    // Forward once with recording, draw the cotangents, and get the analytical gradients.
    TensorList outputs = f(inputs);
    uint64_t state = options.seed;
    std::vector<std::vector<double>> cotangents(outputs.size());
    std::vector<Tensor> analytical(checked.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
        const Tensor& out = outputs[k];
        if (!out.defined() || !is_floating(out.dtype())) continue;
        cotangents[k].resize(size_t(out.numel()));
        for (double& c : cotangents[k]) c = next_uniform(state);
        if (!out.requires_grad()) continue;  // output does not depend on any checked input
        Tensor v = Tensor::from_vector<double>(cotangents[k], out.shape());
        TensorList g = grad(out, checked, v, /*retain_graph=*/true);
        for (size_t i = 0; i < checked.size(); ++i) {
            if (!g[i].defined()) continue;
            if (!analytical[i].defined()) {
                analytical[i] = Tensor::zeros(checked[i].shape(), kFloat64);
            }
            add_into(analytical[i], g[i]);
        }
    }

    // Numerical gradients, one input element at a time.
    NoGradGuard no_grad;
    for (size_t i = 0; i < checked.size(); ++i) {
        const Tensor& x = checked[i];
        double* base = static_cast<double*>(x.storage()->data());
        const std::vector<double> ana =
            analytical[i].defined() ? analytical[i].to_vector<double>() : std::vector<double>(size_t(x.numel()), 0.0);
        for (int64_t j = 0; j < x.numel(); ++j) {
            double& element = base[storage_index(x, j)];
            const double original = element;
            element = original + options.eps;
            const double plus = weighted_sum(f(inputs), cotangents);
            element = original - options.eps;
            const double minus = weighted_sum(f(inputs), cotangents);
            element = original;
            const double numerical = (plus - minus) / (2.0 * options.eps);
            const double error = std::fabs(ana[size_t(j)] - numerical);
            result.max_abs_error = std::max(result.max_abs_error, error);
            if (result.ok && !(error <= options.atol + options.rtol * std::fabs(numerical))) {
                std::ostringstream msg;
                msg << "input " << i << " " << shape_str(x.shape()) << ", element " << j << ": analytical "
                    << ana[size_t(j)] << ", numerical " << numerical << " (|diff| " << error << ")";
                result.ok = false;
                result.message = msg.str();
            }
        }
    }
    return result;
}

}  // namespace wsol
