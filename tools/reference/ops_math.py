"""Writes tests/fixtures/ops/math.safetensors: PyTorch's softmax, normalisation, loss and sort results.

Each case stores inputs, outputs, a random output cotangent and PyTorch's input gradients (see
fixtures.py). Compared by tests/ops/test_{softmax,norm,loss,sort}.cpp in float32.

Usage: /opt/refenv/bin/python tools/reference/ops_math.py
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import case, generator, save  # noqa: E402

torch.set_default_dtype(torch.float64)
g = generator(1234)


def rand(*shape, low=-2.0, high=2.0, grad=True):
    t = torch.rand(*shape, generator=g) * (high - low) + low
    return t.requires_grad_(grad)


def classes(n_classes, *shape, ignore=None, ignore_index=-100):
    t = torch.randint(0, n_classes, shape, generator=g)
    if ignore is not None:
        t[ignore] = ignore_index
    return t


out = {}

# ---- softmax / log_softmax ---------------------------------------------------------------------------
case(out, "softmax_last", lambda x: F.softmax(x, -1), [rand(4, 7)])
case(out, "softmax_mid", lambda x: F.softmax(x, 1), [rand(2, 5, 3)])
case(out, "softmax_first", lambda x: F.softmax(x, 0), [rand(6, 4)])
case(out, "softmax_wide", lambda x: F.softmax(x, 1), [rand(2, 3, 70)])  # more than one 64-line block
case(out, "softmax_large", lambda x: F.softmax(x, -1), [rand(3, 6, low=-800.0, high=800.0)])
case(out, "log_softmax_last", lambda x: F.log_softmax(x, -1), [rand(3, 9)])
case(out, "log_softmax_mid", lambda x: F.log_softmax(x, 1), [rand(2, 4, 6)])
case(out, "log_softmax_large", lambda x: F.log_softmax(x, 0), [rand(5, 3, low=-500.0, high=500.0)])
masked = rand(3, 5, grad=False)
masked[0, 1] = masked[1, 0] = masked[1, 4] = float("-inf")
case(out, "softmax_masked", lambda x: F.softmax(x, -1), [masked.requires_grad_(True)])
case(out, "log_softmax_masked", lambda x: F.log_softmax(x, -1), [masked.detach().clone().requires_grad_(True)])
all_masked = rand(2, 4, grad=False)
all_masked[1] = float("-inf")
case(out, "softmax_all_masked", lambda x: F.softmax(x, -1), [all_masked.requires_grad_(True)])

# ---- layer_norm ---------------------------------------------------------------------------------------
case(out, "layer_norm_wb", lambda x, w, b: F.layer_norm(x, (8,), w, b), [rand(3, 4, 8), rand(8), rand(8)])
case(out, "layer_norm_2d", lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=1e-6),
     [rand(2, 3, 4, low=3.0, high=5.0), rand(3, 4), rand(3, 4)])
case(out, "layer_norm_plain", lambda x: F.layer_norm(x, (6,)), [rand(5, 6)])
case(out, "layer_norm_weight_only", lambda x, w: F.layer_norm(x, (5,), w), [rand(4, 5), rand(5)])


# ---- batch_norm: outputs are y and the running stats after the update ------------------------------
def batch_norm_train(x, rm, rv, w, b):
    rm, rv = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
    return y, rm, rv


def batch_norm_eval(x, rm, rv, w, b):
    return F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)


case(out, "batch_norm_train", batch_norm_train,
     [rand(4, 3, 2, 5), rand(3, grad=False), rand(3, low=0.5, high=2.0, grad=False), rand(3), rand(3)])
case(out, "batch_norm_eval", batch_norm_eval,
     [rand(3, 4, 6), rand(4, grad=False), rand(4, low=0.5, high=2.0, grad=False), rand(4), rand(4)])
case(out, "batch_norm_train_2d", lambda x: F.batch_norm(x, None, None, training=True), [rand(8, 5, low=1.0, high=3.0)])

# ---- cross_entropy / nll_loss --------------------------------------------------------------------------
case(out, "cross_entropy_mean", lambda x, t: F.cross_entropy(x, t), [rand(6, 5), classes(5, 6)])
case(out, "cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"), [rand(6, 5), classes(5, 6)])
case(out, "cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"), [rand(4, 3), classes(3, 4)])
case(out, "cross_entropy_smooth_ignore_weight",
     lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
     [rand(8, 4), classes(4, 8, ignore=[1, 5]), rand(4, low=0.2, high=2.0, grad=False)])
case(out, "cross_entropy_smooth_ignore_sum",
     lambda x, t: F.cross_entropy(x, t, reduction="sum", label_smoothing=0.3),
     [rand(7, 5), classes(5, 7, ignore=[0])])
case(out, "cross_entropy_spatial",
     lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, ignore_index=2),
     [rand(2, 3, 4, 5), classes(3, 2, 4, 5), rand(3, low=0.2, high=2.0, grad=False)])
case(out, "cross_entropy_spatial_none",
     lambda x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
     [rand(2, 4, 3), classes(4, 2, 3, ignore=(0, 1))])
case(out, "nll_loss_weight_ignore", lambda x, t, w: F.nll_loss(x, t, weight=w),
     [F.log_softmax(rand(6, 4, grad=False), 1).requires_grad_(True), classes(4, 6, ignore=[2]),
      rand(4, low=0.2, high=2.0, grad=False)])
case(out, "nll_loss_spatial_none", lambda x, t: F.nll_loss(x, t, reduction="none"),
     [F.log_softmax(rand(2, 3, 4, grad=False), 1).requires_grad_(True), classes(3, 2, 4)])

# ---- binary cross-entropy and regression losses ----------------------------------------------------
case(out, "bce_weight", lambda p, t, w: F.binary_cross_entropy(p, t, weight=w),
     [rand(4, 3, low=0.05, high=0.95), rand(4, 3, low=0.0, high=1.0), rand(3, low=0.5, high=1.5, grad=False)])
case(out, "bce_none", lambda p, t: F.binary_cross_entropy(p, t, reduction="none"),
     [rand(5, 2, low=0.05, high=0.95), rand(5, 2, low=0.0, high=1.0)])
case(out, "bce_logits_weights",
     lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw),
     [rand(4, 3, low=-4.0, high=4.0), rand(4, 3, low=0.0, high=1.0), rand(4, 1, low=0.5, high=1.5, grad=False),
      rand(3, low=0.5, high=3.0, grad=False)])
case(out, "bce_logits_sum", lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
     [rand(3, 5, low=-30.0, high=30.0), rand(3, 5, low=0.0, high=1.0)])
case(out, "mse_mean", lambda a, b: F.mse_loss(a, b), [rand(3, 4), rand(3, 4)])
case(out, "mse_none", lambda a, b: F.mse_loss(a, b, reduction="none"), [rand(2, 5), rand(2, 5)])
case(out, "l1_sum", lambda a, b: F.l1_loss(a, b, reduction="sum"), [rand(3, 4), rand(3, 4)])
case(out, "l1_mean", lambda a, b: F.l1_loss(a, b), [rand(6), rand(6)])

# ---- sort / topk (no gradients; integer inputs with ties check stability) --------------------------
case(out, "sort_ascending", lambda x: torch.sort(x, -1), [rand(4, 6, grad=False)])
case(out, "sort_descending_axis0", lambda x: torch.sort(x, 0, descending=True), [rand(5, 3, grad=False)])
nan_row = rand(2, 5, grad=False)
nan_row[0, 1] = nan_row[1, 3] = nan_row[1, 0] = float("nan")
case(out, "sort_nan", lambda x: torch.sort(x, stable=True, dim=-1), [nan_row])
case(out, "sort_nan_descending", lambda x: torch.sort(x, stable=True, dim=-1, descending=True), [nan_row.clone()])
ties = torch.randint(0, 3, (3, 8), generator=g)
case(out, "sort_int_stable", lambda x: torch.sort(x, stable=True, dim=-1), [ties])
case(out, "sort_int_stable_descending", lambda x: torch.sort(x, stable=True, dim=1, descending=True), [ties.clone()])
case(out, "topk_largest", lambda x: torch.topk(x, 3, -1), [rand(3, 8, grad=False)])
case(out, "topk_smallest_axis0", lambda x: torch.topk(x, 2, 0, largest=False), [rand(5, 4, grad=False)])
case(out, "topk_mid_axis", lambda x: torch.topk(x, 4, 1), [rand(2, 6, 3, grad=False)])

# ---- add_layer_norm: (x + r, layer_norm(x + r)); both outputs get a cotangent --------------------------
# (appended last so that the cases above keep their random draws)
case(out, "add_layer_norm", lambda x, r, w, b: (x + r, F.layer_norm(x + r, (8,), w, b, eps=1e-6)),
     [rand(3, 4, 8), rand(3, 4, 8), rand(8), rand(8)])
case(out, "add_layer_norm_plain", lambda x, r: (x + r, F.layer_norm(x + r, (2, 3))), [rand(4, 2, 3), rand(4, 2, 3)])

save("ops/math.safetensors", out)
