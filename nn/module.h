// Module: the container for a network's parameters, buffers and sub-modules, with the bookkeeping
// PyTorch's nn.Module provides: dotted names ("blocks.0.attn.qkv.weight"), train/eval mode,
// moving to a device or dtype, state_dict / load_state_dict, zero_grad.
//
// A layer derives from Module, registers what it owns in its constructor, and keeps the returned
// handles as plain members:
//
//   class Linear : public Module {
//   public:
//       Linear(int64_t in, int64_t out, Generator& gen) : Module("Linear") {
//           weight = register_parameter("weight", Tensor::empty({out, in}));
//           ...
//       }
//       Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
//       Tensor weight, bias;
//   };
//
// Tensor handles share their TensorImpl, so the registry and the member are the same tensor;
// to(device) swaps the storage inside that impl (Tensor::set_data), keeping every handle valid.
// forward() is not virtual: each module has the signature that suits it, like the papers' code.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace wsol::nn {

// What load_state_dict found besides the keys that matched.
struct LoadReport {
    std::vector<std::string> missing;     // in the module, not in the state
    std::vector<std::string> unexpected;  // in the state, not in the module
    std::vector<std::string> mismatched;  // "name: state (a,b) vs module (c,d)"
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string str() const;  // a readable multi-line summary
};

class Module {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    const std::string& type_name() const { return type_name_; }

    // ---- registration (constructors call these) ------------------------------------------
    // The parameter is made a leaf with requires_grad (unless told otherwise) and returned.
    Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
    // Buffers are state that is not trained (running statistics, fixed kernels). Non-persistent
    // buffers are left out of state_dict.
    Tensor register_buffer(const std::string& name, Tensor value, bool persistent = true);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }

    // ---- traversal -----------------------------------------------------------------------
    NamedTensors named_parameters(bool recurse = true) const;
    NamedTensors named_buffers(bool recurse = true) const;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
    // Every module below this one (depth first, registration order), with this one first as "".
    std::vector<std::pair<std::string, Module*>> named_modules();
    std::vector<Tensor> parameters(bool recurse = true) const;
    // A parameter or buffer by dotted name; throws naming the module type and the name.
    Tensor get(const std::string& dotted_name) const;
    int64_t num_parameters(bool trainable_only = false) const;

    // ---- mode and placement --------------------------------------------------------------
    void train(bool training = true);  // this module and every descendant
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void to(Device device);
    void to(DType dtype);  // floating parameters and buffers only
    Device device() const;  // of the first parameter or buffer (cpu when there are none)

    // ---- state ---------------------------------------------------------------------------
    // Parameters and persistent buffers, in PyTorch's order: a module's own parameters, then its
    // buffers, then each child's entries in registration order.
    NamedTensors state_dict() const;
    // Copies values into the existing tensors (converted to their dtype and device). Strict: any
    // missing, unexpected or shape-mismatched key is an error listing them; non-strict: loads what
    // matches and returns the rest in the report.
    LoadReport load_state_dict(const NamedTensors& state, bool strict = true);
    // Forgets accumulated gradients (sets .grad to undefined, as PyTorch's set_to_none).
    void zero_grad();

    // A PyTorch-like tree of modules with their parameter shapes.
    std::string summary() const;

private:
    void add_child(const std::string& name, std::shared_ptr<Module> child);
    void check_new_name(const std::string& name) const;
    void collect_state(const std::string& prefix, NamedTensors& out) const;
    void summary_into(std::string& out, const std::string& name, int indent) const;

    struct Slot {
        std::string name;
        Tensor value;
        bool persistent = true;
    };
    std::string type_name_;
    bool training_ = true;
    std::vector<Slot> parameters_;
    std::vector<Slot> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// An indexed list of modules (children named "0", "1", ...), like torch.nn.ModuleList, so that
// names come out as "blocks.0.attn.qkv.weight".
class ModuleList : public Module {
public:
    ModuleList() : Module("ModuleList") {}
    template <class M>
    std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
        register_module(std::to_string(size_++), module);
        return module;
    }
    size_t size() const { return size_; }

private:
    size_t size_ = 0;
};

}  // namespace wsol::nn
