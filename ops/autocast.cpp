// The autocast and TF32 switches (ops/autocast.h): thread-local and process-wide flags, and the
// casts the ops call at their entry.
#include "ops/autocast.h"

#include <atomic>

#include "autograd/backward.h"
#include "ops/shape.h"

namespace wsol {

namespace {
thread_local bool t_autocast = false;
std::atomic<bool> g_allow_tf32{false};
}  // namespace

bool autocast_enabled() { return t_autocast; }
void set_autocast_enabled(bool enabled) { t_autocast = enabled; }
bool autocast_active() { return t_autocast && !backward_running(); }

Tensor autocast_lower(const Tensor& x) {
    if (!t_autocast || !x.defined() || !x.is_cuda() || x.dtype() != kFloat32 || backward_running()) return x;
    return to(x, kAutocastDType);
}

Tensor autocast_float(const Tensor& x) {
    if (!t_autocast || !x.defined() || !x.is_cuda() || x.dtype() != kAutocastDType || backward_running()) return x;
    return to(x, kFloat32);
}

namespace {
template <class List>
bool mixed(const List& inputs) {
    if (!t_autocast) return false;
    bool has_float = false, has_lower = false;
    for (const Tensor& t : inputs) {
        if (!t.defined()) continue;
        if (!t.is_cuda()) return false;
        has_float = has_float || t.dtype() == kFloat32;
        has_lower = has_lower || t.dtype() == kAutocastDType;
    }
    return has_float && has_lower && !backward_running();
}
}  // namespace

bool autocast_mixed(std::initializer_list<Tensor> inputs) { return mixed(inputs); }
bool autocast_mixed(const std::vector<Tensor>& inputs) { return mixed(inputs); }

bool allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow, std::memory_order_relaxed); }

}  // namespace wsol
