// Optimizers: AdamW (decoupled weight decay, PyTorch's formula) and SGD (momentum, Nesterov), over
// parameter groups, with a saveable state.
//
// A group is a list of named parameters sharing hyper-parameters. make_param_groups() builds the
// usual split: weights decayed, biases and 1-D parameters (norm scales, ...) not decayed, plus
// names listed explicitly as not decayed (timm's no_weight_decay: pos_embed, cls_token, ...).
//
// State is keyed by parameter name ("blocks.0.attn.qkv.weight.exp_avg"), so a checkpoint survives a
// change of group layout and is readable in any safetensors viewer.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace wsol::nn {

struct ParamGroup {
    NamedTensors params;
    double lr = 1e-3;
    double weight_decay = 0.0;
    double lr_scale = 1.0;  // the group's lr is lr_scale * the schedule's lr (set_lr)
};

// Two groups: decayed (weight_decay) and not decayed (0.0). A parameter is not decayed when it is
// 1-D, its name ends in ".bias", or its name is in `no_decay_names`. Parameters that do not
// require grad (frozen) are left out.
std::vector<ParamGroup> make_param_groups(const NamedTensors& named_params, double lr, double weight_decay,
                                          const std::set<std::string>& no_decay_names = {});

class Optimizer {
public:
    explicit Optimizer(std::vector<ParamGroup> groups);
    virtual ~Optimizer() = default;

    // Applies one update from the parameters' current .grad (parameters without a gradient are
    // skipped, as in PyTorch).
    virtual void step() = 0;
    // Sets every .grad to undefined.
    void zero_grad();
    // Sets each group's lr to lr * lr_scale (what a schedule calls every step).
    void set_lr(double lr);
    std::vector<ParamGroup>& groups() { return groups_; }
    const std::vector<ParamGroup>& groups() const { return groups_; }
    int64_t steps_taken() const { return steps_; }

    // Everything needed to continue bit-identically: per-parameter state tensors and the step count.
    virtual NamedTensors state() const = 0;
    virtual void load_state(const NamedTensors& state) = 0;

protected:
    std::vector<ParamGroup> groups_;
    int64_t steps_ = 0;
};

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class AdamW final : public Optimizer {
public:
    AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
    void step() override;
    NamedTensors state() const override;
    void load_state(const NamedTensors& state) override;

private:
    struct Moments {
        Tensor exp_avg, exp_avg_sq;
        int64_t step = 0;
    };
    AdamWOptions options_;
    std::vector<std::vector<Moments>> moments_;  // [group][param], created at the first step
};

struct SGDOptions {
    double momentum = 0.0, dampening = 0.0;
    bool nesterov = false;
};

class SGD final : public Optimizer {
public:
    SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
    void step() override;
    NamedTensors state() const override;
    void load_state(const NamedTensors& state) override;

private:
    SGDOptions options_;
    std::vector<std::vector<Tensor>> momentum_;  // [group][param]; undefined until the first step
};

// Scales all gradients so that their global L2 norm is at most max_norm (PyTorch's
// clip_grad_norm_: coefficient max_norm / (norm + 1e-6), applied only when below 1). Returns the
// norm before clipping, computed in float64.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

}  // namespace wsol::nn
