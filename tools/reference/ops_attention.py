"""Fixtures for ops/attention.h: gated scaled dot-product attention, computed by PyTorch.

Reference (the SAT/CSFN key-column gating, no renormalisation):
    out = (softmax(q k^T * scale, dim=-1) * gate[:, None, None, :]) @ v
Writes tests/fixtures/ops/attention.safetensors with, per case, the inputs q, k, v (and gate),
the output, a random output cotangent and PyTorch's input gradients (fixtures.case), plus
"<case>/scale" holding the scale.

Usage: python tools/reference/ops_attention.py   (or tools/reference/ops.py for every family)
"""
import math

import torch

from fixtures import case, generator, save


def reference(scale, gated):
    def fn(q, k, v, *rest):
        a = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1)
        if gated:
            a = a * rest[0][:, None, None, :]
        return a @ v
    return fn


def leaf(shape, g, low=-1.0, high=1.0):
    return (torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low).requires_grad_(True)


def main():
    out = {}
    cases = [
        # name, B, H, Nq, Nk, D, scale, gate range (None: no gate)
        ("gated_self", 2, 3, 5, 5, 4, 1 / math.sqrt(4), (0.2, 1.5)),
        ("ungated", 1, 2, 7, 7, 8, 1 / math.sqrt(8), None),
        ("gated_cross_signed", 2, 1, 3, 6, 5, 0.3, (-1.0, 1.0)),
        ("gated_vit_like", 1, 2, 17, 17, 16, 1 / math.sqrt(16), (0.0, 1.0)),
    ]
    for i, (name, B, H, Nq, Nk, D, scale, gate_range) in enumerate(cases):
        g = generator(100 + i)
        q = leaf((B, H, Nq, D), g, -2.0, 2.0)
        k = leaf((B, H, Nk, D), g, -2.0, 2.0)
        v = leaf((B, H, Nk, D), g)
        inputs = [q, k, v]
        if gate_range is not None:
            inputs.append(leaf((B, Nk), g, *gate_range))
        case(out, name, reference(scale, gate_range is not None), inputs, seed=200 + i)
        out[f"{name}/scale"] = torch.tensor(scale, dtype=torch.float64)
    save("ops/attention.safetensors", out)


if __name__ == "__main__":
    main()
