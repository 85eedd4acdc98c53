#include "nn/init.h"

#include <cmath>

#include "autograd/node.h"
#include "ops/elementwise.h"
#include "ops/random.h"

namespace wsol::nn::init {

namespace {
int64_t receptive_field(const Tensor& w) {
    WSOL_CHECK(w.dim() >= 2, "init: fan in/out needs a tensor with at least 2 dimensions, got ", shape_str(w.shape()));
    int64_t r = 1;
    for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
    return r;
}
}  // namespace

int64_t fan_in(const Tensor& w) { return w.size(1) * receptive_field(w); }
int64_t fan_out(const Tensor& w) { return w.size(0) * receptive_field(w); }

void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }
void constant_(const Tensor& t, double value) {
    NoGradGuard no_grad;
    fill_(t, value);
}
void uniform_(const Tensor& t, Generator& gen, double low, double high) {
    NoGradGuard no_grad;
    wsol::uniform_(t, gen, low, high);
}
void normal_(const Tensor& t, Generator& gen, double mean, double std) {
    NoGradGuard no_grad;
    wsol::normal_(t, gen, mean, std);
}
void trunc_normal_(const Tensor& t, Generator& gen, double mean, double std, double low, double high) {
    NoGradGuard no_grad;
    wsol::trunc_normal_(t, gen, mean, std, low, high);
}

void xavier_uniform_(const Tensor& t, Generator& gen, double gain) {
    const double std = gain * std::sqrt(2.0 / double(fan_in(t) + fan_out(t)));
    const double bound = std::sqrt(3.0) * std;
    init::uniform_(t, gen, -bound, bound);
}

void xavier_normal_(const Tensor& t, Generator& gen, double gain) {
    init::normal_(t, gen, 0.0, gain * std::sqrt(2.0 / double(fan_in(t) + fan_out(t))));
}

void kaiming_uniform_(const Tensor& t, Generator& gen, double a, bool fan_out_mode) {
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double std = gain / std::sqrt(double(fan_out_mode ? fan_out(t) : fan_in(t)));
    const double bound = std::sqrt(3.0) * std;
    init::uniform_(t, gen, -bound, bound);
}

void kaiming_normal_(const Tensor& t, Generator& gen, double a, bool fan_out_mode) {
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    init::normal_(t, gen, 0.0, gain / std::sqrt(double(fan_out_mode ? fan_out(t) : fan_in(t))));
}

void default_layer_init(const Tensor& weight, const Tensor& bias, Generator& gen) {
    kaiming_uniform_(weight, gen, std::sqrt(5.0));
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(double(fan_in(weight)));
        init::uniform_(bias, gen, -bound, bound);
    }
}

}  // namespace wsol::nn::init
