// Learning-rate schedules, evaluated per optimizer step (0-based). A schedule is a pure function
// of the step, so resuming from a checkpoint needs only the step count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace wsol::nn {

class LRSchedule {
public:
    virtual ~LRSchedule() = default;
    virtual double lr_at(int64_t step) const = 0;
    virtual std::string describe() const = 0;
};

// The same lr at every step (SAT's released recipe: its cosine schedule is computed but never used).
class ConstantLR final : public LRSchedule {
public:
    explicit ConstantLR(double lr) : lr_(lr) {}
    double lr_at(int64_t) const override { return lr_; }
    std::string describe() const override;

private:
    double lr_;
};

// lr * gamma^(step / step_size) (integer division), PyTorch's StepLR counted in steps.
class StepLR final : public LRSchedule {
public:
    StepLR(double lr, int64_t step_size, double gamma);
    double lr_at(int64_t step) const override;
    std::string describe() const override;

private:
    double lr_, gamma_;
    int64_t step_size_;
};

// Linear warm-up from warmup_start_lr to lr over warmup_steps, then half-cosine from lr down to
// min_lr at total_steps (and min_lr after). timm/DeiT's per-iteration cosine schedule.
class WarmupCosineLR final : public LRSchedule {
public:
    WarmupCosineLR(double lr, int64_t warmup_steps, int64_t total_steps, double min_lr = 0.0,
                   double warmup_start_lr = 0.0);
    double lr_at(int64_t step) const override;
    std::string describe() const override;

private:
    double lr_, min_lr_, warmup_start_lr_;
    int64_t warmup_steps_, total_steps_;
};

}  // namespace wsol::nn
