#include "ops/autocast.h"

#include <atomic>

#include "ops/shape.h"

namespace wsol {

namespace {
thread_local bool t_autocast = false;
std::atomic<bool> g_allow_tf32{false};
}  // namespace

bool autocast_enabled() { return t_autocast; }
void set_autocast_enabled(bool enabled) { t_autocast = enabled; }

Tensor autocast_lower(const Tensor& x) {
    if (!t_autocast || !x.defined() || !x.is_cuda() || x.dtype() != kFloat32) return x;
    return to(x, kAutocastDType);
}

Tensor autocast_float(const Tensor& x) {
    if (!t_autocast || !x.defined() || !x.is_cuda() || x.dtype() != kAutocastDType) return x;
    return to(x, kFloat32);
}

bool allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow, std::memory_order_relaxed); }

}  // namespace wsol
