"""DeiT-tiny parity at the real size, with a fixture of a few KiB: timm's deit_tiny_patch16_224 (12
blocks, 197 tokens, 192 channels, 3 heads of 64, 1000 classes) on weights that both sides compute
from a formula, so the 22 MB of weights never enter the repository. The committed .pth fixtures
(vit_parity.py) cover the checkpoint readers; this covers the arithmetic at DeiT's own shapes.

The formula (tests/models/test_vit_deit_tiny.cpp computes the same, bit for bit, in float32):
    salt = FNV-1a 32-bit hash of the tensor's name
    h    = (i * 2654435761 + salt) mod 2^32 for element i (row-major), then h ^= h >> 15,
           h = h * 2246822519 mod 2^32, h ^= h >> 13
    u    = (h >> 8) * 2^-24 - 0.5                       in [-0.5, 0.5), exact in float32
    value = u * scale + offset                          u * scale is exact, so one rounding
with scale 1/4, offset 1 for LayerNorm weights (names ending "norm1.weight", "norm2.weight",
"norm.weight") and scale 1/8, offset 0 for every other tensor. The input batch is the same formula
under the name "input", scale 4.

Also records, for the tests of our configs and of `wsol-convert --export-timm`, every key and shape
of timm's deit_{tiny,small,base}_patch16_224 state dicts and their parameter counts.

Writes tests/fixtures/models/deit_tiny_formula.safetensors and tests/fixtures/models/deit_timm_keys.json.
Run: /opt/refenv/bin/python tools/reference/deit_tiny_formula.py
"""
import json
import os

import numpy as np
import timm
import torch

from fixtures import FIXTURES, save


def fnv1a(name):
    h = 0x811C9DC5
    for byte in name.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def formula(name, shape, scale, offset=0.0):
    n = int(np.prod(shape))
    h = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(fnv1a(name))) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    u = (h >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24) - np.float32(0.5)
    return torch.from_numpy((u * np.float32(scale) + np.float32(offset)).reshape(shape))


def weight_for(name, shape):
    if name.endswith(("norm1.weight", "norm2.weight", "norm.weight")):
        return formula(name, shape, 0.25, 1.0)
    return formula(name, shape, 0.125)


keys = {}
for arch in ("deit_tiny_patch16_224", "deit_small_patch16_224", "deit_base_patch16_224"):
    m = timm.create_model(arch, pretrained=False)
    keys[arch] = {"keys": [[k, list(v.shape)] for k, v in m.state_dict().items()],
                  "parameters": sum(p.numel() for p in m.parameters())}
with open(os.path.join(FIXTURES, "models", "deit_timm_keys.json"), "w") as f:  # a key per line
    f.write('{"timm": %s, "models": {\n' % json.dumps(timm.__version__))
    for n, (arch, entry) in enumerate(keys.items()):
        f.write('%s: {"parameters": %d, "keys": [\n' % (json.dumps(arch), entry["parameters"]))
        f.write(",\n".join("  " + json.dumps(k) for k in entry["keys"]))
        f.write("\n]}%s\n" % ("," if n + 1 < len(keys) else ""))
    f.write("}}\n")

model = timm.create_model("deit_tiny_patch16_224", pretrained=False).eval()
with torch.no_grad():
    for name, t in model.state_dict().items():
        t.copy_(weight_for(name, tuple(t.shape)))
x = formula("input", (2, 3, 224, 224), 4.0)

score_rows, prob_rows = [], []


def hook(module, inputs, output):
    (xin,) = inputs
    B, N, C = xin.shape
    qkv = module.qkv(xin).reshape(B, N, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
    s = (qkv[0][:, :, 0:1] @ qkv[1].transpose(-2, -1)) * module.scale  # (B, H, 1, N): the class token's row
    score_rows.append(s.mean(1))
    prob_rows.append(s.softmax(-1).mean(1))


for blk in model.blocks:
    blk.attn.register_forward_hook(hook)
with torch.no_grad():
    logits = model(x)

out = {"logits": logits, "input_check": x.flatten()[:64].clone(),
       "weight_check": model.blocks[5].attn.qkv.weight.flatten()[:64].clone()}
for i in range(12):
    out[f"block{i}.cls_score_row"] = score_rows[i]
    out[f"block{i}.cls_prob_row"] = prob_rows[i]
save("models/deit_tiny_formula.safetensors", out)
print("timm", timm.__version__, "logits std", logits.std().item(), "first", logits[0, :4].tolist())
