// The backward graph: one Node per recorded op, pointing back at the nodes that produced its
// inputs.
//
// When an op runs with gradients enabled and some input requires grad, it records a Node that
// knows how to turn the gradient of its outputs into the gradients of its inputs (the chain rule
// for that one op). Each output tensor points at the node (TensorImpl::autograd->grad_fn); each
// node points at its inputs' nodes through `next_edges`. A leaf that requires grad (a parameter) is
// represented by a GradAccumulator node that adds the incoming gradient into the leaf's `.grad`.
//
//   x (leaf) ──► GradAccumulator(x)
//        │                 ▲
//        ▼                 │ next_edges
//   y = exp(x) ─ grad_fn ─► Node "exp"  ◄── next_edges ── Node "sum" ◄─ grad_fn ─ loss
//
// backward(loss) walks this graph from the loss in topological order (autograd/backward.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace wsol {

using TensorList = std::vector<Tensor>;

// Where a gradient goes: input slot `input_nr` of `node`. A null node means "no gradient needed".
struct Edge {
    std::shared_ptr<Node> node;
    uint32_t input_nr = 0;
    bool valid() const { return node != nullptr; }
};

// Shape, dtype and device of one output, kept so that a missing gradient can be filled with zeros
// and a gradient of the wrong shape can be reported with the op's name.
struct TensorMeta {
    Shape shape;
    DType dtype = kFloat32;
    Device device;
};

class Node {
public:
    explicit Node(std::string name) : name_(std::move(name)) {}
    virtual ~Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // grad_outputs[k] is the gradient with respect to output k (always defined: zeros where no
    // gradient arrived). Returns one gradient per entry of next_edges (undefined = none).
    virtual TensorList apply(const TensorList& grad_outputs) = 0;
    // Drops what the node saved for the backward pass (called after use unless retain_graph).
    virtual void release() {}

    const std::string& name() const { return name_; }

    std::vector<Edge> next_edges;        // one per differentiable input, in the op's input order
    std::vector<TensorMeta> output_meta; // one per output

private:
    std::string name_;
};

// Which inputs of an op need a gradient: a backward function may skip the others (and should,
// when that work is expensive, e.g. the input gradient of the first convolution).
using GradMask = std::vector<bool>;
// The chain rule of one op: gradients of the outputs in, gradients of the inputs out.
using BackwardFn = std::function<TensorList(const TensorList& grad_outputs, const GradMask& needs_input_grad)>;

// The node used by every op: its backward is a function, usually a lambda written next to the
// op's forward (ops/<family>.cpp). The lambda's captures are the saved tensors; release() drops
// them, which is what frees the graph's memory after backward.
class FunctionNode final : public Node {
public:
    FunctionNode(std::string name, BackwardFn fn) : Node(std::move(name)), fn_(std::move(fn)) {}
    TensorList apply(const TensorList& grad_outputs) override;
    void release() override { fn_ = nullptr; }

private:
    BackwardFn fn_;
};

// Adds incoming gradients into a leaf's `.grad`.
class GradAccumulator final : public Node {
public:
    explicit GradAccumulator(const Tensor& leaf);
    TensorList apply(const TensorList& grad_outputs) override;

private:
    std::weak_ptr<TensorImpl> leaf_;
};

// ---- recording ops ----------------------------------------------------------------------------

// True when gradients are being recorded (see NoGradGuard) and any input requires grad.
bool any_requires_grad(const TensorList& inputs);

// Records `outputs = op(inputs)` in the backward graph: the outputs get a FunctionNode running
// `fn`. Inputs that do not require grad get no edge, and needs_input_grad tells `fn` so. Call
// it only when any_requires_grad(inputs); outputs must be fresh tensors produced by the op.
void record_op(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn fn);

// The edge a gradient for `tensor` must follow: its grad_fn, or the leaf's accumulator.
Edge gradient_edge(const Tensor& tensor);

// ---- grad mode --------------------------------------------------------------------------------

bool grad_enabled();
void set_grad_enabled(bool enabled);

// Disables recording in a scope (evaluation, optimizer updates, the backward pass itself).
class NoGradGuard {
public:
    NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
    ~NoGradGuard() { set_grad_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

}  // namespace wsol
