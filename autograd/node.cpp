#include "autograd/node.h"

namespace wsol {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

TensorList FunctionNode::apply(const TensorList& grad_outputs) {
    WSOL_CHECK(fn_ != nullptr, "backward through the graph a second time: the saved tensors of '", name(),
               "' were freed after the first backward. Pass retain_graph = true to the first backward if you "
               "need to run backward twice");
    GradMask needs(next_edges.size());
    for (size_t i = 0; i < next_edges.size(); ++i) needs[i] = next_edges[i].valid();
    return fn_(grad_outputs, needs);
}

GradAccumulator::GradAccumulator(const Tensor& leaf) : Node("accumulate_grad"), leaf_(leaf.impl_ptr()) {
    output_meta.push_back({leaf.shape(), leaf.dtype(), leaf.device()});
}

TensorList GradAccumulator::apply(const TensorList& grad_outputs) {
    std::shared_ptr<TensorImpl> impl = leaf_.lock();
    if (!impl) return {};  // the leaf is gone; nothing to accumulate into
    Tensor leaf(impl);
    const Tensor& incoming = grad_outputs.at(0);
    Tensor grad = leaf.grad();
    if (!grad.defined()) {
        // The first gradient gets its own contiguous buffer: gradients flowing in may alias each
        // other (add passes one buffer to both inputs), and optimizers modify .grad in place.
        Tensor owned = Tensor::empty(incoming.shape(), incoming.dtype(), incoming.device());
        copy_into(owned, incoming);
        leaf.set_grad(owned);
    } else {
        add_into(grad, incoming);
    }
    return {};
}

bool any_requires_grad(const TensorList& inputs) {
    if (!grad_enabled()) return false;
    for (const Tensor& t : inputs) {
        if (t.defined() && t.requires_grad()) return true;
    }
    return false;
}

Edge gradient_edge(const Tensor& tensor) {
    if (!tensor.defined() || !tensor.requires_grad()) return {};
    if (tensor.grad_fn()) return {tensor.grad_fn(), tensor.output_nr()};
    // A leaf: share one accumulator between all uses of the leaf while a graph holds it.
    AutogradMeta& meta = tensor.impl()->autograd_meta();
    std::shared_ptr<Node> acc = meta.grad_accumulator.lock();
    if (!acc) {
        acc = std::make_shared<GradAccumulator>(tensor);
        meta.grad_accumulator = acc;
    }
    return {acc, 0};
}

void record_op(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn fn) {
    auto node = std::make_shared<FunctionNode>(name, std::move(fn));
    node->next_edges.reserve(inputs.size());
    for (const Tensor& input : inputs) node->next_edges.push_back(gradient_edge(input));
    for (size_t k = 0; k < outputs.size(); ++k) {
        const Tensor& out = outputs[k];
        WSOL_CHECK(out.is_leaf() && !out.requires_grad(), "record_op(", name, "): output ", k,
                   " already belongs to a graph; ops must record fresh tensors");
        node->output_meta.push_back({out.shape(), out.dtype(), out.device()});
        AutogradMeta& meta = out.impl()->autograd_meta();
        meta.grad_fn = node;
        meta.output_nr = uint32_t(k);
    }
}

}  // namespace wsol
