#include "nn/schedule.h"

#include <cmath>

#include "engine/error.h"

namespace wsol::nn {

std::string ConstantLR::describe() const { return "constant lr " + std::to_string(lr_); }

StepLR::StepLR(double lr, int64_t step_size, double gamma) : lr_(lr), gamma_(gamma), step_size_(step_size) {
    WSOL_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
}
double StepLR::lr_at(int64_t step) const { return lr_ * std::pow(gamma_, double(step / step_size_)); }
std::string StepLR::describe() const {
    return "step lr " + std::to_string(lr_) + " x" + std::to_string(gamma_) + " every " + std::to_string(step_size_) +
           " steps";
}

WarmupCosineLR::WarmupCosineLR(double lr, int64_t warmup_steps, int64_t total_steps, double min_lr,
                               double warmup_start_lr)
    : lr_(lr), min_lr_(min_lr), warmup_start_lr_(warmup_start_lr), warmup_steps_(warmup_steps), total_steps_(total_steps) {
    WSOL_CHECK(warmup_steps >= 0 && total_steps > 0 && warmup_steps <= total_steps, "WarmupCosineLR: need 0 <= warmup (",
               warmup_steps, ") <= total (", total_steps, ") and total > 0");
}

double WarmupCosineLR::lr_at(int64_t step) const {
    if (step < warmup_steps_) {
        return warmup_start_lr_ + (lr_ - warmup_start_lr_) * double(step) / double(warmup_steps_);
    }
    if (step >= total_steps_) return min_lr_;
    const double progress = double(step - warmup_steps_) / double(std::max<int64_t>(1, total_steps_ - warmup_steps_));
    return min_lr_ + 0.5 * (lr_ - min_lr_) * (1.0 + std::cos(M_PI * progress));
}

std::string WarmupCosineLR::describe() const {
    return "cosine lr " + std::to_string(lr_) + " -> " + std::to_string(min_lr_) + " over " +
           std::to_string(total_steps_) + " steps, " + std::to_string(warmup_steps_) + " warm-up";
}

}  // namespace wsol::nn
