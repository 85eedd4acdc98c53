"""ViT/DeiT parity fixture: a small timm VisionTransformer (same architecture as DeiT, tiny sizes)
with random weights, a fixed input batch, and timm's outputs: logits, the tokens after every block,
and per block the head-averaged raw attention scores and softmax rows of the class token.

Writes tests/fixtures/models/vit_tiny.safetensors (weights under "model.", outputs under "out.").
Run: /opt/refenv/bin/python tools/reference/vit_parity.py
"""
import torch
import timm
from timm.models.vision_transformer import VisionTransformer

from fixtures import save

torch.manual_seed(0)
cfg = dict(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2, mlp_ratio=4.0, qkv_bias=True,
           num_classes=10)
model = VisionTransformer(**cfg)  # LayerNorm eps 1e-6, exact GELU: timm's ViT defaults (as DeiT)
# Randomise every parameter (the default init has zero biases and unit norms, which would hide
# mistakes in those paths).
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randn_like(p) * 0.2)
model.eval()

x = torch.randn(2, 3, 32, 32)
rows_scores, rows_probs, block_tokens = [], [], []


def hook(block_index):
    def run(module, inputs, output):
        (xin,) = inputs
        B, N, C = xin.shape
        qkv = module.qkv(xin).reshape(B, N, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
        q, k = qkv[0], qkv[1]
        s = (q[:, :, 0:1] @ k.transpose(-2, -1)) * module.scale  # (B, H, 1, N)
        rows_scores.append(s.mean(1))
        rows_probs.append(s.softmax(-1).mean(1))
    return run


for i, blk in enumerate(model.blocks):
    blk.attn.register_forward_hook(hook(i))
    blk.register_forward_hook(lambda m, inp, out: block_tokens.append(out))
with torch.no_grad():
    logits = model(x)

out = {f"model.{k}": v for k, v in model.state_dict().items()}
out["out.input"] = x
out["out.logits"] = logits
for i in range(cfg["depth"]):
    out[f"out.block{i}.tokens"] = block_tokens[i]
    out[f"out.block{i}.cls_score_row"] = rows_scores[i]
    out[f"out.block{i}.cls_prob_row"] = rows_probs[i]
save("models/vit_tiny.safetensors", out)
print("timm", timm.__version__, "logits", logits[0, :4].tolist())

# The same weights in the three .pth containers, as public checkpoints come: zip with DeiT's
# {"model": ...} wrapper, the legacy stream with SAT's DataParallel "module." prefix (storages tagged
# cuda:0, as SAT's released files are), and the old tar format (hand-built: torch can no longer
# write it; tools/reference/torch_tar_format.py).
import collections
import os

from fixtures import FIXTURES, save_legacy_as_from_gpu
from torch_tar_format import tar_state_dict, write_tar_py3

sd = model.state_dict()
torch.save({"model": sd}, os.path.join(FIXTURES, "models", "vit_tiny_zip.pth"))
wrapped = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
save_legacy_as_from_gpu({"model": wrapped, "best_thr": 0.4, "epoch": 3},
                        os.path.join(FIXTURES, "models", "vit_tiny_legacy.pth"))
plan, obj = tar_state_dict(collections.OrderedDict((k, v.detach().clone()) for k, v in sd.items()), 95_000_000_000_000)
write_tar_py3(os.path.join(FIXTURES, "models", "vit_tiny_tar.pth"), plan, obj)
for name in ("zip", "legacy", "tar"):
    p = os.path.join(FIXTURES, "models", f"vit_tiny_{name}.pth")
    loaded = torch.load(p, map_location="cpu", weights_only=False)
    print(name, os.path.getsize(p), "bytes; torch.load reads it back:", type(loaded).__name__)
