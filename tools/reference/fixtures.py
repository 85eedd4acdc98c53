"""Shared helpers for the fixture scripts: write small safetensors files that the C++ tests read.

Fixtures are computed by PyTorch (the independent oracle) from inputs drawn here with a fixed seed,
and saved as float64 where the op allows (tests compare in float32 at the tolerance the op states).
Naming inside a file: "<case>/<role>", e.g. "softmax_dim1/x", "softmax_dim1/y", "softmax_dim1/gy"
(the output cotangent), "softmax_dim1/gx" (the input gradient). Keep every file small.
"""
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def save(relative_path, tensors):
    path = os.path.join(FIXTURES, relative_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, path)
    size = os.path.getsize(path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(tensors)} tensors, {size / 1024:.1f} KiB)")
    if size > 512 * 1024:
        raise SystemExit(f"{path} is {size} bytes: fixtures must stay small")


def generator(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def case(out, name, fn, inputs, seed=0):
    """Runs fn(*inputs) in float64, backpropagates a random cotangent and stores everything.

    inputs: list of tensors; those with requires_grad get their gradient stored as gx<i>.
    """
    g = generator(seed)
    outputs = fn(*inputs)
    if not isinstance(outputs, (tuple, list)):
        outputs = (outputs,)
    grads_in = [x for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad]
    cotangents = [torch.randn(o.shape, generator=g, dtype=o.dtype) if o.is_floating_point() else None for o in outputs]
    diff = [(o, c) for o, c in zip(outputs, cotangents) if c is not None and o.requires_grad]
    if diff and grads_in:
        gs = torch.autograd.grad([o for o, _ in diff], grads_in, [c for _, c in diff], allow_unused=True)
    else:
        gs = [None] * len(grads_in)
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor):
            out[f"{name}/x{i}"] = x.detach()
    for k, o in enumerate(outputs):
        out[f"{name}/y{k}"] = o.detach()
        if cotangents[k] is not None:
            out[f"{name}/gy{k}"] = cotangents[k]
    gi = 0
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor) and x.requires_grad:
            if gs[gi] is not None:
                out[f"{name}/gx{i}"] = gs[gi]
            gi += 1


def save_legacy_as_from_gpu(obj, path):
    """torch.save in the legacy (non-zip) stream, storages tagged "cuda:0": how SAT's and CSFN's
    released checkpoints were written (DataParallel on GPUs, _use_new_zipfile_serialization=False)."""
    tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    finally:
        torch.serialization.location_tag = tag


def keep_activations_o1(name, unit):
    """A N(0, 1) tensor for parameter `name`, brought to a scale that keeps every transformer
    block's output O(1) at full depth: weights of fan-in n (Linear, convolutions) to N(0, 1/n), norm
    scales to 1 + N(0, 0.1), biases and tokens to N(0, 0.1). (Random weights at timm's N(0, 0.02)
    everywhere, norm scales included, give logits ~1e-2, which a 1e-3 tolerance would not test.)"""
    if name.endswith(".weight") and unit.ndim >= 2:
        return unit / unit[0].numel() ** 0.5
    if "norm" in name and name.endswith(".weight"):
        return 1.0 + 0.1 * unit
    return 0.1 * unit
