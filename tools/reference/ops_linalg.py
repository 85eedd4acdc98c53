"""Fixtures for the "linalg" op families: matmul/bmm/linear, conv2d, pooling, interpolate, indexing.

Writes tests/fixtures/ops/linalg.safetensors, read by tests/ops/test_{linalg,conv,pool,interpolate,index}.cpp.
Every case runs in float64 (inputs drawn here with a fixed seed); the C++ tests run the same op in
float32 and compare at a tolerance that depends on the op. Shapes are tiny on purpose.

Run with the reference environment (never needed by the build):
    /opt/refenv/bin/python tools/reference/ops_linalg.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import case, save  # noqa: E402

torch.manual_seed(20240611)


def leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64).requires_grad_(True)


def index(values):
    return torch.tensor(values, dtype=torch.int64)


out = {}

# ---- matmul, bmm, linear ------------------------------------------------------------------------
case(out, "mm", torch.matmul, [leaf(3, 4), leaf(4, 5)])
case(out, "matmul_broadcast", torch.matmul, [leaf(2, 1, 3, 4), leaf(3, 4, 2)])
case(out, "matmul_fold", torch.matmul, [leaf(2, 3, 4), leaf(4, 5)])
case(out, "matmul_vec_mat", torch.matmul, [leaf(4), leaf(2, 4, 3)])
case(out, "matmul_mat_vec", torch.matmul, [leaf(2, 3, 4), leaf(4)])
case(out, "matmul_dot", torch.matmul, [leaf(5), leaf(5)])
# Transposed operands: the C++ side passes transpose views, which go to BLAS as CblasTrans.
case(out, "matmul_transposed", lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2), [leaf(2, 4, 3), leaf(2, 5, 4)])
case(out, "bmm", torch.bmm, [leaf(2, 3, 4), leaf(2, 4, 5)])
case(out, "linear", F.linear, [leaf(2, 3, 4), leaf(5, 4), leaf(5)])
case(out, "linear_nobias", F.linear, [leaf(3, 4), leaf(2, 4)])

# ---- conv2d -------------------------------------------------------------------------------------
case(out, "conv_basic", lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), [leaf(2, 3, 7, 6), leaf(4, 3, 3, 3), leaf(4)])
case(out, "conv_strided_dilated", lambda x, w: F.conv2d(x, w, None, stride=2, padding=(1, 0), dilation=(2, 1)),
     [leaf(1, 2, 9, 8), leaf(3, 2, 3, 2)])
case(out, "conv_groups", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2),
     [leaf(2, 4, 5, 5), leaf(6, 2, 3, 3), leaf(6)])
case(out, "conv_pointwise", lambda x, w, b: F.conv2d(x, w, b), [leaf(2, 3, 4, 5), leaf(5, 3, 1, 1), leaf(5)])
case(out, "conv_patch", lambda x, w, b: F.conv2d(x, w, b, stride=4), [leaf(1, 3, 8, 8), leaf(4, 3, 4, 4), leaf(4)])
case(out, "conv_depthwise", lambda x, w: F.conv2d(x, w, None, padding=1, groups=3), [leaf(1, 3, 6, 6), leaf(3, 1, 3, 3)])

# ---- pooling ------------------------------------------------------------------------------------
case(out, "maxpool_basic", lambda x: F.max_pool2d(x, 3, 2, 1), [leaf(2, 3, 7, 6)])
case(out, "maxpool_ceil", lambda x: F.max_pool2d(x, 3, 2, 0, ceil_mode=True), [leaf(1, 2, 6, 7)])
case(out, "maxpool_dilated", lambda x: F.max_pool2d(x, (3, 2), (1, 2), (1, 1), dilation=(2, 1)), [leaf(1, 2, 7, 6)])
# Ties (values from {0, 1, 2}): the first maximum in the window wins and takes the gradient.
ties = torch.randint(0, 3, (1, 2, 5, 5)).to(torch.float64).requires_grad_(True)
case(out, "maxpool_ties", lambda x: F.max_pool2d(x, 2, 1), [ties])
case(out, "avgpool_pad", lambda x: F.avg_pool2d(x, 3, 2, 1), [leaf(2, 3, 7, 6)])
case(out, "avgpool_nopadcount", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [leaf(1, 2, 7, 6)])
case(out, "avgpool_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [leaf(1, 2, 6, 8)])
case(out, "avgpool_ceil_nopadcount", lambda x: F.avg_pool2d(x, (2, 3), (2, 2), (1, 1), ceil_mode=True,
                                                             count_include_pad=False), [leaf(1, 2, 5, 6)])
case(out, "adaptive_down", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [leaf(2, 3, 7, 5)])
case(out, "adaptive_global", lambda x: F.adaptive_avg_pool2d(x, 1), [leaf(1, 2, 5, 5)])
case(out, "adaptive_up", lambda x: F.adaptive_avg_pool2d(x, (4, 5)), [leaf(1, 1, 3, 3)])

# ---- interpolate --------------------------------------------------------------------------------
for name, size_in, size_out in [("up", (5, 4), (7, 9)), ("down", (8, 7), (3, 4)), ("odd", (5, 3), (3, 7)),
                                ("double", (4, 4), (8, 8)), ("one", (4, 5), (1, 1))]:
    case(out, f"nearest_{name}", lambda x, s=size_out: F.interpolate(x, size=s, mode="nearest"), [leaf(1, 2, *size_in)])
    for align in (False, True):
        for mode in ("bilinear", "bicubic"):
            case(out, f"{mode}_{name}_{'ac' if align else 'hp'}",
                 lambda x, s=size_out, m=mode, a=align: F.interpolate(x, size=s, mode=m, align_corners=a),
                 [leaf(1, 2, *size_in)])

# ---- indexing -----------------------------------------------------------------------------------
case(out, "cat", lambda a, b, c: torch.cat([a, b, c], 1), [leaf(2, 3), leaf(2, 1), leaf(2, 4)])
case(out, "stack", lambda a, b, c: torch.stack([a, b, c], 1), [leaf(2, 3), leaf(2, 3), leaf(2, 3)])
case(out, "index_select", lambda x, i: torch.index_select(x, 1, i), [leaf(3, 5), index([4, 0, 4, 2])])
case(out, "gather", lambda x, i: torch.gather(x, 1, i), [leaf(3, 4), index([[3, 3, 0], [1, 2, 1]])])
case(out, "gather_axis0", lambda x, i: torch.gather(x, 0, i), [leaf(3, 4), index([[2, 0, 1, 2], [2, 2, 0, 1]])])
case(out, "scatter_add", lambda x, i, s: torch.scatter_add(x, 0, i, s),
     [leaf(3, 5), index([[0, 2, 2, 1], [0, 0, 1, 2]]), leaf(2, 4)])
mask = torch.tensor([True, False, False, True])
case(out, "masked_fill", lambda x: x.masked_fill(mask, -2.5), [leaf(3, 4)])
out["masked_fill/mask"] = mask
case(out, "pad_constant", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [leaf(1, 2, 3, 4)])
case(out, "pad_crop", lambda x: F.pad(x, (-1, 1, 2, -1)), [leaf(1, 2, 3, 4)])
case(out, "pad_reflect", lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [leaf(1, 2, 4, 5)])
case(out, "pad_replicate", lambda x: F.pad(x, (3, 0, 1, 2), mode="replicate"), [leaf(1, 2, 3, 4)])
case(out, "roll", lambda x: torch.roll(x, (1, -2), (0, 2)), [leaf(3, 2, 4)])
case(out, "roll_flat", lambda x: torch.roll(x, 5), [leaf(3, 4)])
case(out, "flip", lambda x: torch.flip(x, (0, 2)), [leaf(3, 2, 4)])
case(out, "one_hot", lambda i: F.one_hot(i, 5), [index([[0, 4], [2, 2], [1, 3]])])

# Some gradients alias other tensors (scatter_add's gx0 is its gy0); safetensors refuses shared memory.
save("ops/linalg.safetensors", {k: v.detach().clone() for k, v in out.items()})
