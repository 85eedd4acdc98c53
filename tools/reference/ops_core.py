"""Writes tests/fixtures/ops/core.safetensors: PyTorch's results for the core ops that already exist
(ops/elementwise.h, ops/reduce.h, ops/shape.h), values and input gradients.

Binary ops get inputs that broadcast against each other; tests/ops/test_fixtures_core.cpp runs
every case twice, once as stored and once with each input of two or more dimensions passed in a
non-contiguous layout (same values, so the same expected results).

Usage: /opt/refenv/bin/python tools/reference/ops_core.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import case, generator, save  # noqa: E402

torch.set_default_dtype(torch.float64)
g = generator(4321)


def rand(*shape, low=-2.0, high=2.0, grad=True):
    t = torch.rand(*shape, generator=g) * (high - low) + low
    return t.requires_grad_(grad)


def positive(*shape):
    return rand(*shape, low=0.5, high=2.0)


def away_from_zero(*shape):
    """Values in [-2, -0.2] U [0.2, 2]: no kinks (abs, relu, clamp edges) inside the fd step."""
    t = rand(*shape, low=0.2, high=2.0, grad=False)
    sign = torch.randint(0, 2, shape, generator=g) * 2 - 1
    return (t * sign).requires_grad_(True)


out = {}

# ---- binary ops with broadcasting: (2, 1, 3) against (4, 3) ---------------------------------------------
case(out, "add", torch.add, [rand(2, 1, 3), rand(4, 3)])
case(out, "sub", torch.sub, [rand(2, 1, 3), rand(4, 3)])
case(out, "mul", torch.mul, [rand(2, 1, 3), rand(4, 3)])
case(out, "div", torch.div, [rand(2, 1, 3), positive(4, 3)])
case(out, "pow", torch.pow, [positive(2, 1, 3), rand(4, 3, low=-1.0, high=2.0)])
case(out, "maximum", torch.maximum, [rand(2, 1, 3), rand(4, 3)])
case(out, "minimum", torch.minimum, [rand(3, 4), rand(4)])
case(out, "add_row", torch.add, [rand(3, 4), rand(1, 4)])

# ---- tensor-scalar ops --------------------------------------------------------------------------------------
case(out, "add_scalar", lambda x: x + 2.5, [rand(3, 4)])
case(out, "sub_scalar", lambda x: x - 1.5, [rand(3, 4)])
case(out, "rsub_scalar", lambda x: 1.0 - x, [rand(3, 4)])
case(out, "mul_scalar", lambda x: x * -3.0, [rand(3, 4)])
case(out, "div_scalar", lambda x: x / 4.0, [rand(3, 4)])
case(out, "rdiv_scalar", lambda x: 2.0 / x, [positive(3, 4)])
case(out, "pow_scalar", lambda x: x ** 2.5, [positive(3, 4)])
case(out, "pow_scalar_negative", lambda x: x ** -1.5, [positive(3, 4)])

# ---- unary math and activations -----------------------------------------------------------------------------
case(out, "neg", torch.neg, [rand(3, 4)])
case(out, "exp", torch.exp, [rand(3, 4)])
case(out, "log", torch.log, [positive(3, 4)])
case(out, "sqrt", torch.sqrt, [positive(3, 4)])
case(out, "rsqrt", torch.rsqrt, [positive(3, 4)])
case(out, "abs", torch.abs, [away_from_zero(3, 4)])
case(out, "square", torch.square, [rand(3, 4)])
case(out, "clamp", lambda x: torch.clamp(x, -0.5, 1.0), [away_from_zero(4, 5)])
case(out, "clamp_min", lambda x: torch.clamp(x, min=0.3), [rand(4, 5)])
case(out, "clamp_max", lambda x: torch.clamp(x, max=-0.3), [rand(4, 5)])
case(out, "relu", torch.relu, [away_from_zero(3, 4)])
case(out, "sigmoid", torch.sigmoid, [rand(3, 4, low=-5.0, high=5.0)])
case(out, "tanh", torch.tanh, [rand(3, 4)])
case(out, "gelu", F.gelu, [rand(4, 6, low=-6.0, high=4.0)])
case(out, "gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [rand(4, 6, low=-6.0, high=4.0)])
case(out, "tanhshrink", F.tanhshrink, [rand(3, 4)])

# ---- where --------------------------------------------------------------------------------------------------
cond = torch.rand(2, 3, 4, generator=g) > 0.5
case(out, "where", torch.where, [cond, rand(3, 4), rand(2, 1, 4)])
case(out, "where_scalar", lambda c, a: torch.where(c, a, torch.tensor(-0.75)), [cond.clone(), rand(3, 4)])

# ---- reductions (random inputs: no ties, so max/min gradients are unambiguous) ---------------------------
case(out, "sum_all", lambda x: x.sum(), [rand(3, 4, 2)])
case(out, "sum_axes", lambda x: x.sum((0, 2)), [rand(3, 4, 2)])
case(out, "sum_keepdim", lambda x: x.sum(1, keepdim=True), [rand(3, 4, 2)])
case(out, "mean", lambda x: x.mean(-1), [rand(3, 4, 2)])
case(out, "mean_all", lambda x: x.mean(), [rand(5, 3)])
case(out, "var", lambda x: x.var(1), [rand(3, 5, 2)])
case(out, "var_population", lambda x: x.var((0, 2), correction=0, keepdim=True), [rand(3, 5, 2)])
case(out, "amax", lambda x: x.amax(1), [rand(3, 4, 2)])
case(out, "amin", lambda x: x.amin((0, 1)), [rand(3, 4, 2)])
case(out, "max_dim", lambda x: torch.max(x, 1), [rand(3, 4, 2)])
case(out, "min_dim_keepdim", lambda x: torch.min(x, -1, keepdim=True), [rand(3, 4, 2)])
case(out, "logsumexp", lambda x: torch.logsumexp(x, 1), [rand(3, 4, 2, low=-5.0, high=5.0)])
case(out, "logsumexp_two_axes", lambda x: torch.logsumexp(x, (0, 2), keepdim=True), [rand(3, 4, 2)])
case(out, "cumsum", lambda x: torch.cumsum(x, 1), [rand(3, 4, 2)])
case(out, "cumsum_first", lambda x: torch.cumsum(x, 0), [rand(5, 3)])

# ---- shape and layout ----------------------------------------------------------------------------------------
case(out, "reshape", lambda x: x.reshape(4, 6), [rand(2, 3, 4)])
case(out, "view", lambda x: x.view(6, 4), [rand(2, 3, 4)])
case(out, "flatten", lambda x: torch.flatten(x, 1), [rand(2, 3, 4)])
case(out, "permute", lambda x: x.permute(2, 0, 1), [rand(2, 3, 4)])
case(out, "transpose", lambda x: x.transpose(0, 2), [rand(2, 3, 4)])
case(out, "narrow", lambda x: x.narrow(2, 1, 2), [rand(2, 3, 4)])
case(out, "slice_step", lambda x: x[:, :, 0:4:3], [rand(2, 3, 4)])
case(out, "slice_negative", lambda x: x[:, -2:], [rand(2, 3, 4)])
case(out, "select", lambda x: x.select(1, 2), [rand(2, 3, 4)])
case(out, "expand", lambda x: x.unsqueeze(0).expand(3, 2, 3, 4), [rand(2, 3, 4)])
case(out, "expand_size1", lambda x: x.expand(2, 5, 4), [rand(2, 1, 4)])
case(out, "squeeze", lambda x: x.squeeze(1), [rand(2, 1, 4)])
case(out, "unsqueeze", lambda x: x.unsqueeze(-1), [rand(2, 3)])
case(out, "contiguous", lambda x: x.transpose(0, 1).contiguous(), [rand(2, 3, 4)])
case(out, "clone", lambda x: x.clone() * 2.0, [rand(2, 3)])
case(out, "to_float64", lambda x: x.to(torch.float64) * 3.0, [rand(2, 3)])
# A chain: broadcasting, a view, a reduction and an activation in one graph.
case(out, "chain", lambda a, b: torch.sigmoid((a.transpose(0, 1) * b).sum(-1)).mean(),
     [rand(4, 3), rand(3, 1, 4)])

# ---- split / chunk / argmax (appended last so that the cases above keep their random draws) -------
case(out, "split_size", lambda x: torch.split(x, 2, dim=1), [rand(2, 5, 3)])
case(out, "split_sizes", lambda x: torch.split(x, [1, 3, 1], dim=2), [rand(2, 3, 5)])
case(out, "chunk", lambda x: torch.chunk(x, 3, dim=0), [rand(7, 2)])
case(out, "chunk_fewer", lambda x: torch.chunk(x, 4, dim=1), [rand(2, 6)])  # 3 chunks of 2, not 4
ties = torch.randint(0, 3, (4, 6), generator=g).to(torch.get_default_dtype())  # ties: the first index wins
case(out, "argmax_ties", lambda x: torch.argmax(x, 1), [ties])
case(out, "argmax_keepdim_axis0", lambda x: torch.argmax(x, 0, keepdim=True), [rand(5, 3, grad=False)])
case(out, "argmin_ties", lambda x: torch.argmin(x, 1), [ties.clone()])

# View ops return tensors that share memory with their inputs (and their gradients with the
# cotangents); safetensors refuses shared storage, so every entry gets its own copy.
save("ops/core.safetensors", {k: v.detach().clone() for k, v in out.items()})
