// The backward pass, as a reader can follow it:
//
// 1. Discover every node reachable from the root (iterative depth-first search, so a graph of
//    thousands of nodes cannot overflow the stack) and count, for each node, how many edges point
//    at it: that is how many gradient contributions it must wait for.
// 2. Start from the root with the seed gradient (1 for a scalar loss). Keep a buffer of summed
//    gradients per node. Process nodes whose count has dropped to zero (Kahn's topological order):
//    call apply() with the summed output gradients, then send each returned input gradient along
//    its edge, adding into the target's buffer and decrementing its count.
//
// Why the counts matter (micrograd issue #64): with b = a + a; c = b + b, the node of b must
// receive both contributions from c before it runs, or a gets half its gradient. A plain recursion
// does not guarantee that; the topological order does.
#include "autograd/backward.h"

#include <unordered_map>
#include <unordered_set>

namespace wsol {

namespace {

thread_local int t_backward_depth = 0;  // nested passes (a backward inside a backward function)

struct BackwardScope {
    BackwardScope() { ++t_backward_depth; }
    ~BackwardScope() { --t_backward_depth; }
    BackwardScope(const BackwardScope&) = delete;
    BackwardScope& operator=(const BackwardScope&) = delete;
};

struct Buffer {
    TensorList grads;         // one per node output, summed as contributions arrive
    std::vector<bool> owned;  // grads[k] is a buffer of this pass (safe to add into in place)
};

Tensor zeros_like_meta(const TensorMeta& meta) { return Tensor::zeros(meta.shape, meta.dtype, meta.device); }

void add_contribution(Buffer& buffer, size_t slot, size_t slots, const Tensor& grad, const Node& target) {
    if (buffer.grads.empty()) {
        buffer.grads.resize(slots);
        buffer.owned.resize(slots, false);
    }
    Tensor& current = buffer.grads[slot];
    const TensorMeta& meta = target.output_meta.at(slot);
    WSOL_CHECK(grad.shape() == meta.shape && grad.dtype() == meta.dtype && grad.device() == meta.device,
               "backward: a gradient ", shape_str(grad.shape()), " ", dtype_name(grad.dtype()), " on ",
               grad.device().str(), " arrived for an output ", shape_str(meta.shape), " ", dtype_name(meta.dtype),
               " on ", meta.device.str(), " of '", target.name(), "'");
    if (!current.defined()) {
        current = grad;
    } else if (buffer.owned[slot]) {
        add_into(current, grad);
    } else {
        // Sum into a buffer this pass owns (the incoming tensors may be shared or views).
        Tensor sum = Tensor::empty(meta.shape, meta.dtype, meta.device);
        copy_into(sum, current);
        add_into(sum, grad);
        current = sum;
        buffer.owned[slot] = true;
    }
}

// Runs the pass from (root_edge, seed). When `capture` is non-null, gradients arriving at those
// edges are stored there instead of flowing on into accumulators.
void run_backward(const Edge& root_edge, const Tensor& seed, bool retain_graph,
                  std::unordered_map<const Node*, Tensor>* capture) {
    NoGradGuard no_grad;  // the backward pass computes values, it does not record a new graph
    BackwardScope scope;  // and runs without forward-only modes (backward_running())

    // 1. Dependency counts over the reachable graph.
    std::unordered_map<Node*, int> dependencies;
    std::unordered_set<Node*> seen{root_edge.node.get()};
    std::vector<Node*> stack{root_edge.node.get()};
    while (!stack.empty()) {
        Node* node = stack.back();
        stack.pop_back();
        for (const Edge& edge : node->next_edges) {
            if (!edge.valid()) continue;
            dependencies[edge.node.get()] += 1;
            if (seen.insert(edge.node.get()).second) stack.push_back(edge.node.get());
        }
    }

    // 2. Kahn's algorithm from the root.
    std::unordered_map<Node*, Buffer> buffers;
    add_contribution(buffers[root_edge.node.get()], root_edge.input_nr, root_edge.node->output_meta.size(), seed,
                     *root_edge.node);
    std::vector<std::shared_ptr<Node>> ready{root_edge.node};
    while (!ready.empty()) {
        std::shared_ptr<Node> node = ready.back();
        ready.pop_back();
        Buffer buffer = std::move(buffers[node.get()]);
        buffers.erase(node.get());

        if (capture) {
            auto it = capture->find(node.get());
            if (it != capture->end()) {
                it->second = buffer.grads.empty() ? Tensor() : buffer.grads[0];
                continue;  // do not flow into the leaf's .grad
            }
        }

        bool any_grad = false;
        for (const Tensor& g : buffer.grads) any_grad = any_grad || g.defined();
        TensorList input_grads;
        if (any_grad) {
            TensorList grad_outputs(node->output_meta.size());
            for (size_t k = 0; k < grad_outputs.size(); ++k) {
                grad_outputs[k] = k < buffer.grads.size() && buffer.grads[k].defined() ? buffer.grads[k]
                                                                                       : zeros_like_meta(node->output_meta[k]);
            }
            input_grads = node->apply(grad_outputs);
            if (!retain_graph) node->release();
            WSOL_CHECK(input_grads.empty() || input_grads.size() == node->next_edges.size(), "backward of '",
                       node->name(), "' returned ", input_grads.size(), " gradients for ", node->next_edges.size(),
                       " inputs");
        }
        for (size_t i = 0; i < node->next_edges.size(); ++i) {
            const Edge& edge = node->next_edges[i];
            if (!edge.valid()) continue;
            if (i < input_grads.size() && input_grads[i].defined()) {
                add_contribution(buffers[edge.node.get()], edge.input_nr, edge.node->output_meta.size(), input_grads[i],
                                 *edge.node);
            }
            if (--dependencies[edge.node.get()] == 0) ready.push_back(edge.node);
        }
    }
}

Tensor seed_for(const Tensor& root, const Tensor& grad) {
    if (grad.defined()) {
        WSOL_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad.shape()),
                   " for a root of shape ", shape_str(root.shape()));
        return grad;
    }
    WSOL_CHECK(root.numel() == 1, "backward: the root has shape ", shape_str(root.shape()),
               "; backward without an explicit gradient needs a single-element (scalar) root");
    Tensor one = Tensor::empty(root.shape(), root.dtype(), root.device());
    copy_into(one, Tensor::scalar<double>(1.0));
    return one;
}

}  // namespace

bool backward_running() { return t_backward_depth > 0; }

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
    WSOL_CHECK(root.defined(), "backward: undefined root tensor");
    WSOL_CHECK(root.requires_grad(), "backward: the root does not require grad (no input of the computation "
               "requires grad, or it was computed under NoGradGuard)");
    Tensor seed = seed_for(root, grad);
    run_backward(gradient_edge(root), seed, retain_graph, nullptr);
}

TensorList grad(const Tensor& root, const TensorList& inputs, const Tensor& grad, bool retain_graph) {
    WSOL_CHECK(root.defined() && root.requires_grad(), "grad: the root does not require grad");
    std::unordered_map<const Node*, Tensor> capture;
    std::vector<Edge> edges;
    for (const Tensor& input : inputs) {
        WSOL_CHECK(input.requires_grad(), "grad: an input does not require grad");
        WSOL_CHECK(input.is_leaf(), "grad: inputs must be leaves");
        edges.push_back(gradient_edge(input));
        capture[edges.back().node.get()] = Tensor();
    }
    run_backward(gradient_edge(root), seed_for(root, grad), retain_graph, &capture);
    TensorList out;
    for (const Edge& e : edges) out.push_back(capture[e.node.get()]);
    return out;
}

}  // namespace wsol
