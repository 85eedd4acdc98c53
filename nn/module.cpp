#include "nn/module.h"

#include <map>
#include <set>

#include "autograd/node.h"
#include "ops/shape.h"

namespace wsol::nn {

std::string LoadReport::str() const {
    std::string out;
    auto section = [&](const char* title, const std::vector<std::string>& keys) {
        if (keys.empty()) return;
        out += std::string(title) + " (" + std::to_string(keys.size()) + "):";
        for (size_t i = 0; i < keys.size() && i < 20; ++i) out += "\n  " + keys[i];
        if (keys.size() > 20) out += "\n  ... and " + std::to_string(keys.size() - 20) + " more";
        out += "\n";
    };
    section("missing keys", missing);
    section("unexpected keys", unexpected);
    section("shape mismatches", mismatched);
    return out.empty() ? "all keys matched\n" : out;
}

void Module::check_new_name(const std::string& name) const {
    WSOL_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": bad member name '", name,
               "' (must be non-empty without dots)");
    auto taken = [&](const auto& list) {
        for (const auto& entry : list) {
            if (entry.name == name) return true;
        }
        return false;
    };
    bool child_taken = false;
    for (const auto& [child_name, child] : children_) child_taken = child_taken || child_name == name;
    WSOL_CHECK(!taken(parameters_) && !taken(buffers_) && !child_taken, type_name_, ": the name '", name,
               "' is registered twice");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
    check_new_name(name);
    WSOL_CHECK(value.defined(), type_name_, ": parameter '", name, "' is undefined");
    WSOL_CHECK(value.is_leaf(), type_name_, ": parameter '", name, "' must be a leaf tensor (detach it first)");
    if (requires_grad) value.set_requires_grad(true);
    parameters_.push_back({name, value, true});
    return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
    check_new_name(name);
    WSOL_CHECK(value.defined(), type_name_, ": buffer '", name, "' is undefined");
    buffers_.push_back({name, value, persistent});
    return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
    check_new_name(name);
    WSOL_CHECK(child != nullptr, type_name_, ": child module '", name, "' is null");
    children_.emplace_back(name, std::move(child));
}

NamedTensors Module::named_parameters(bool recurse) const {
    NamedTensors out;
    for (const Slot& p : parameters_) out.emplace_back(p.name, p.value);
    if (recurse) {
        for (const auto& [name, child] : children_) {
            for (auto& [key, t] : child->named_parameters(true)) out.emplace_back(name + "." + key, t);
        }
    }
    return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
    NamedTensors out;
    for (const Slot& b : buffers_) out.emplace_back(b.name, b.value);
    if (recurse) {
        for (const auto& [name, child] : children_) {
            for (auto& [key, t] : child->named_buffers(true)) out.emplace_back(name + "." + key, t);
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
    std::vector<std::pair<std::string, Module*>> out{{"", this}};
    for (const auto& [name, child] : children_) {
        for (auto& [key, m] : child->named_modules()) out.emplace_back(key.empty() ? name : name + "." + key, m);
    }
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
    return out;
}

Tensor Module::get(const std::string& dotted_name) const {
    for (auto& [name, t] : named_parameters()) {
        if (name == dotted_name) return t;
    }
    for (auto& [name, t] : named_buffers()) {
        if (name == dotted_name) return t;
    }
    WSOL_FAIL(type_name_, ": no parameter or buffer named '", dotted_name, "'");
}

int64_t Module::num_parameters(bool trainable_only) const {
    int64_t n = 0;
    for (auto& [name, t] : named_parameters()) {
        if (!trainable_only || t.requires_grad()) n += t.numel();
    }
    return n;
}

void Module::train(bool training) {
    training_ = training;
    for (auto& [name, child] : children_) child->train(training);
}

void Module::to(Device device) {
    NoGradGuard no_grad;
    auto move = [&](const Tensor& t) {
        if (t.device() != device) t.set_data(wsol::to(t.detach(), device));
    };
    for (auto& [name, t] : named_parameters()) move(t);
    for (auto& [name, t] : named_buffers()) move(t);
}

void Module::to(DType dtype) {
    WSOL_CHECK(is_floating(dtype), type_name_, ".to: target dtype ", dtype_name(dtype), " is not floating point");
    NoGradGuard no_grad;
    auto convert = [&](const Tensor& t) {
        if (is_floating(t.dtype()) && t.dtype() != dtype) t.set_data(wsol::to(t.detach(), dtype));
    };
    for (auto& [name, t] : named_parameters()) convert(t);
    for (auto& [name, t] : named_buffers()) convert(t);
}

Device Module::device() const {
    NamedTensors params = named_parameters();
    if (!params.empty()) return params.front().second.device();
    NamedTensors buffers = named_buffers();
    return buffers.empty() ? kCPU : buffers.front().second.device();
}

void Module::collect_state(const std::string& prefix, NamedTensors& out) const {
    for (const Slot& p : parameters_) out.emplace_back(prefix + p.name, p.value);
    for (const Slot& b : buffers_) {
        if (b.persistent) out.emplace_back(prefix + b.name, b.value);
    }
    for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

NamedTensors Module::state_dict() const {
    NamedTensors out;
    collect_state("", out);
    return out;
}

LoadReport Module::load_state_dict(const NamedTensors& state, bool strict) {
    LoadReport report;
    std::map<std::string, const Tensor*> given;
    for (const auto& [name, t] : state) given[name] = &t;
    std::set<std::string> used;
    NoGradGuard no_grad;
    std::vector<std::pair<Tensor, const Tensor*>> to_copy;
    for (auto& [name, target] : state_dict()) {
        auto it = given.find(name);
        if (it == given.end()) {
            report.missing.push_back(name);
            continue;
        }
        used.insert(name);
        const Tensor& source = *it->second;
        if (source.shape() != target.shape()) {
            report.mismatched.push_back(name + ": state " + shape_str(source.shape()) + " vs module " +
                                        shape_str(target.shape()));
            continue;
        }
        to_copy.emplace_back(target, &source);
    }
    for (const auto& [name, t] : state) {
        if (!used.count(name)) report.unexpected.push_back(name);
    }
    // Strict mode checks everything before writing anything: a failed load leaves the module as it was.
    WSOL_CHECK(!strict || report.ok(), type_name_, ".load_state_dict (strict):\n", report.str());
    for (auto& [target, source] : to_copy) copy_into(target, *source);
    return report;
}

void Module::zero_grad() {
    for (auto& [name, t] : named_parameters()) {
        if (t.grad().defined()) t.set_grad(Tensor());
    }
}

void Module::summary_into(std::string& out, const std::string& name, int indent) const {
    const std::string pad(size_t(indent) * 2, ' ');
    out += pad + (name.empty() ? "" : "(" + name + "): ") + type_name_;
    for (const Slot& p : parameters_) out += " " + p.name + shape_str(p.value.shape());
    out += "\n";
    for (const auto& [child_name, child] : children_) child->summary_into(out, child_name, indent + 1);
}

std::string Module::summary() const {
    std::string out;
    summary_into(out, "", 0);
    out += "parameters: " + std::to_string(num_parameters()) + "\n";
    return out;
}

}  // namespace wsol::nn
