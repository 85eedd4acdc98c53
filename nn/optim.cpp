#include "nn/optim.h"

#include <cmath>

#include "autograd/node.h"
#include "ops/elementwise.h"
#include "ops/optim.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace wsol::nn {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
const Tensor* find_state(const NamedTensors& state, const std::string& name) {
    for (const auto& [key, t] : state) {
        if (key == name) return &t;
    }
    return nullptr;
}
}  // namespace

std::vector<ParamGroup> make_param_groups(const NamedTensors& named_params, double lr, double weight_decay,
                                          const std::set<std::string>& no_decay_names) {
    ParamGroup decay{{}, lr, weight_decay, 1.0};
    ParamGroup no_decay{{}, lr, 0.0, 1.0};
    for (const auto& [name, p] : named_params) {
        if (!p.requires_grad()) continue;
        const bool skip = p.dim() <= 1 || ends_with(name, ".bias") || no_decay_names.count(name) > 0;
        (skip ? no_decay : decay).params.emplace_back(name, p);
    }
    std::vector<ParamGroup> groups;
    if (!decay.params.empty()) groups.push_back(std::move(decay));
    if (!no_decay.params.empty()) groups.push_back(std::move(no_decay));
    return groups;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
    for (const ParamGroup& g : groups_) {
        for (const auto& [name, p] : g.params) {
            WSOL_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), "optimizer: parameter '", name,
                       "' must be a leaf that requires grad");
        }
    }
}

void Optimizer::zero_grad() {
    for (ParamGroup& g : groups_) {
        for (auto& [name, p] : g.params) p.set_grad(Tensor());
    }
}

void Optimizer::set_lr(double lr) {
    for (ParamGroup& g : groups_) g.lr = lr * g.lr_scale;
}

// ---- AdamW -----------------------------------------------------------------------------------

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Optimizer(std::move(groups)), options_(options) {
    moments_.resize(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) moments_[g].resize(groups_[g].params.size());
}

void AdamW::step() {
    NoGradGuard no_grad;
    for (size_t g = 0; g < groups_.size(); ++g) {
        const ParamGroup& group = groups_[g];
        for (size_t i = 0; i < group.params.size(); ++i) {
            const auto& [name, p] = group.params[i];
            const Tensor grad = p.grad();
            if (!grad.defined()) continue;
            Moments& m = moments_[g][i];
            if (!m.exp_avg.defined()) {
                m.exp_avg = Tensor::zeros(p.shape(), p.dtype(), p.device());
                m.exp_avg_sq = Tensor::zeros(p.shape(), p.dtype(), p.device());
            }
            m.step += 1;
            adamw_update_(p, contiguous(grad), m.exp_avg, m.exp_avg_sq,
                          {group.lr, options_.beta1, options_.beta2, options_.eps, group.weight_decay, m.step});
        }
    }
    ++steps_;
}

NamedTensors AdamW::state() const {
    NamedTensors out;
    out.emplace_back("steps", Tensor::scalar<int64_t>(steps_));
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
            const Moments& m = moments_[g][i];
            if (!m.exp_avg.defined()) continue;
            const std::string& name = groups_[g].params[i].first;
            out.emplace_back(name + ".exp_avg", m.exp_avg);
            out.emplace_back(name + ".exp_avg_sq", m.exp_avg_sq);
            out.emplace_back(name + ".step", Tensor::scalar<int64_t>(m.step));
        }
    }
    return out;
}

void AdamW::load_state(const NamedTensors& state) {
    const Tensor* steps = find_state(state, "steps");
    WSOL_CHECK(steps != nullptr, "AdamW.load_state: no 'steps' entry");
    steps_ = steps->item<int64_t>();
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
            const auto& [name, p] = groups_[g].params[i];
            const Tensor* avg = find_state(state, name + ".exp_avg");
            const Tensor* sq = find_state(state, name + ".exp_avg_sq");
            const Tensor* step = find_state(state, name + ".step");
            Moments& m = moments_[g][i];
            if (!avg && !sq && !step) {
                m = Moments{};  // no update yet for this parameter
                continue;
            }
            WSOL_CHECK(avg && sq && step, "AdamW.load_state: incomplete state for '", name, "'");
            WSOL_CHECK(avg->shape() == p.shape() && sq->shape() == p.shape(), "AdamW.load_state: state of '", name,
                       "' has shape ", shape_str(avg->shape()), ", the parameter ", shape_str(p.shape()));
            m.exp_avg = Tensor::empty(p.shape(), p.dtype(), p.device());
            m.exp_avg_sq = Tensor::empty(p.shape(), p.dtype(), p.device());
            copy_into(m.exp_avg, *avg);
            copy_into(m.exp_avg_sq, *sq);
            m.step = step->item<int64_t>();
        }
    }
}

// ---- SGD -------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options) : Optimizer(std::move(groups)), options_(options) {
    WSOL_CHECK(!options_.nesterov || (options_.momentum > 0 && options_.dampening == 0),
               "SGD: Nesterov momentum requires momentum > 0 and zero dampening");
    momentum_.resize(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) momentum_[g].resize(groups_[g].params.size());
}

void SGD::step() {
    // PyTorch's SGD: d = g + wd p; buf = momentum buf + (1 - dampening) d (buf = d at the first
    // step); d = nesterov ? d + momentum buf : buf; p -= lr d.
    NoGradGuard no_grad;
    for (size_t g = 0; g < groups_.size(); ++g) {
        const ParamGroup& group = groups_[g];
        for (size_t i = 0; i < group.params.size(); ++i) {
            const Tensor& p = group.params[i].second;
            const Tensor grad = p.grad();
            if (!grad.defined()) continue;
            Tensor d = clone(grad);
            if (group.weight_decay != 0.0) add_(d, p, group.weight_decay);
            if (options_.momentum != 0.0) {
                Tensor& buf = momentum_[g][i];
                if (!buf.defined()) {
                    buf = clone(d);
                } else {
                    mul_(buf, options_.momentum);
                    add_(buf, d, 1.0 - options_.dampening);
                }
                if (options_.nesterov) {
                    add_(d, buf, options_.momentum);
                } else {
                    d = buf;
                }
            }
            add_(p, d, -group.lr);
        }
    }
    ++steps_;
}

NamedTensors SGD::state() const {
    NamedTensors out;
    out.emplace_back("steps", Tensor::scalar<int64_t>(steps_));
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
            if (momentum_[g][i].defined()) out.emplace_back(groups_[g].params[i].first + ".momentum", momentum_[g][i]);
        }
    }
    return out;
}

void SGD::load_state(const NamedTensors& state) {
    const Tensor* steps = find_state(state, "steps");
    WSOL_CHECK(steps != nullptr, "SGD.load_state: no 'steps' entry");
    steps_ = steps->item<int64_t>();
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (size_t i = 0; i < groups_[g].params.size(); ++i) {
            const auto& [name, p] = groups_[g].params[i];
            const Tensor* buf = find_state(state, name + ".momentum");
            if (!buf) {
                momentum_[g][i] = Tensor();
                continue;
            }
            WSOL_CHECK(buf->shape() == p.shape(), "SGD.load_state: momentum of '", name, "' has shape ",
                       shape_str(buf->shape()), ", the parameter ", shape_str(p.shape()));
            momentum_[g][i] = Tensor::empty(p.shape(), p.dtype(), p.device());
            copy_into(momentum_[g][i], *buf);
        }
    }
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
    NoGradGuard no_grad;
    double total = 0.0;
    for (const Tensor& p : params) {
        const Tensor g = p.grad();
        if (!g.defined()) continue;
        total += sum(square(to(g, kFloat64))).item<double>();
    }
    const double norm = std::sqrt(total);
    const double coefficient = max_norm / (norm + 1e-6);
    if (coefficient < 1.0) {
        for (const Tensor& p : params) {
            if (p.grad().defined()) mul_(p.grad(), coefficient);
        }
    }
    return norm;
}

}  // namespace wsol::nn
