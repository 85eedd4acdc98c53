"""One whole training step of DeiT-S (ViT-S/16) and of SAT on DeiT-S, batch 256 at 224x224, in
PyTorch eager under bf16 autocast and with torch.compile: the baselines of bench_cuda's
step/{vit_s,sat_s}/bf16 (forward, loss, backward, AdamW). Prints JSON lines (cuda_timing.py):
"step/vit_s/bf16" (eager, the same name as wsol's, so tools/gpu/summarize.py shows the ratio) and
"step/vit_s/bf16/compile", likewise for SAT.

Self-contained (no timm on the GPU machine): the models are written here from the specification
(../shared/reference/sat_csfn.md, Part A; tools/reference/sat_reference.py is the tested reference
with timm). DeiT-S: 16x16 patches, D 384, 12 blocks of 6 heads, MLP 4x with exact GELU, LayerNorm
eps 1e-6, class token and learned position embeddings, linear head. SAT adds a spatial token with its
own position embedding; in every block the head-averaged raw score row of that token, through a
sigmoid, is the block's map m over the keys; in the last three blocks the attention is
softmax(S) * m[key] without renormalisation; the head is a 3x3 conv on the patch grid, averaged into
logits; the loss is cross-entropy + |mean(M) - 0.25| + mean((1 - G*M)(G*M)) with M the mean map of
the gated blocks and G SAT's fixed 3x3 Gaussian.

Attention uses F.scaled_dot_product_attention (PyTorch's fused kernels, as timm does). The gate of
SAT multiplies the key columns of the probabilities, which is the same as scaling the value rows:
(softmax(S) diag(m)) V = softmax(S) (diag(m) V), so the gated blocks use the fused kernel on m * V.
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from cuda_timing import report, require_gpu, time_ms

BATCH, IMAGE, PATCH, DIM, DEPTH, HEADS = 256, 224, 16, 384, 12, 6


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x, probe=False, gated=False):
        B, N, C = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        m = None
        if probe:  # SAT: the spatial token's (last) score row, averaged over heads, through a sigmoid
            row = (q[:, :, -1:] @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5  # (B, H, 1, N)
            m = torch.sigmoid(row.float().mean(1)[:, 0])  # (B, N)
            if gated:
                v = v * m[:, None, :, None].to(v.dtype)
        o = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(o.transpose(1, 2).reshape(B, N, C))
        x = x + self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return x, m


class ViT(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        g = IMAGE // PATCH
        self.patch_embed = nn.Conv2d(3, DIM, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, DIM) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + g * g, DIM) * 0.02)
        self.blocks = nn.ModuleList(Block(DIM, HEADS) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.head = nn.Linear(DIM, classes)

    def loss(self, images, labels):
        B = images.shape[0]
        p = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(B, -1, -1), p], 1) + self.pos_embed
        for blk in self.blocks:
            x, _ = blk(x)
        return F.cross_entropy(self.head(self.norm(x)[:, 0]), labels)


def gaussian_kernel(kernlen=3, nsig=6):
    interval = (2 * nsig + 1.0) / kernlen
    edges = torch.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, kernlen + 1, dtype=torch.float64)
    cdf = 0.5 * (1 + torch.erf(edges / math.sqrt(2)))
    k1 = cdf[1:] - cdf[:-1]
    k2 = torch.sqrt(torch.outer(k1, k1))
    return (k2 / k2.sum()).float().reshape(1, 1, kernlen, kernlen)


class SAT(nn.Module):
    def __init__(self, classes=200, gated=3, area=0.25):
        super().__init__()
        g = IMAGE // PATCH
        self.gated, self.area = gated, area
        self.patch_embed = nn.Conv2d(3, DIM, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, DIM) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + g * g, DIM) * 0.02)
        self.loc_token = nn.Parameter(torch.randn(1, 1, DIM) * 0.02)
        self.loc_embed = nn.Parameter(torch.randn(1, 1, DIM) * 0.02)
        self.blocks = nn.ModuleList(Block(DIM, HEADS) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.head = nn.Conv2d(DIM, classes, 3, padding=1)
        self.register_buffer("weight", gaussian_kernel())

    def loss(self, images, labels):
        B, g = images.shape[0], IMAGE // PATCH
        p = self.patch_embed(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(B, -1, -1), p, self.loc_token.expand(B, -1, -1)], 1)
        x = x + torch.cat([self.pos_embed, self.loc_embed], 1)
        maps = []
        for i, blk in enumerate(self.blocks):
            x, m = blk(x, probe=True, gated=i >= DEPTH - self.gated)
            maps.append(m)
        x = self.norm(x)
        grid = x[:, 1:1 + g * g].transpose(1, 2).reshape(B, DIM, g, g)
        logits = self.head(grid).mean((2, 3))
        M = torch.stack([m[:, 1:1 + g * g] for m in maps[-self.gated:]], 0).mean(0)  # (B, P)
        smooth = F.conv2d(M.reshape(B, 1, g, g), self.weight, padding=1)
        area_loss = (M.mean(1).mean() - self.area).abs()
        norm_loss = ((1 - smooth) * smooth).reshape(B, -1).mean(1).mean()
        return F.cross_entropy(logits, labels) + area_loss + norm_loss


def time_step(name, model, classes, compiled):
    model = model.cuda().train()
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and not n.endswith(("_token", "_embed"))]
    rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and not n.endswith(("_token", "_embed")))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=2.5e-4, fused=True)
    loss_fn = torch.compile(model.loss) if compiled else model.loss
    images = torch.rand(BATCH, 3, IMAGE, IMAGE, device="cuda") * 2 - 1
    labels = torch.randint(0, classes, (BATCH,), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(images, labels)
        loss.backward()
        opt.step()

    ms = time_ms(step, warmup=5 if compiled else 3, repeats=10)
    report(name + ("/compile" if compiled else ""), BATCH, "images/s", ms)


def main():
    require_gpu()
    torch.manual_seed(0)
    for compiled in (False, True):
        try:
            time_step("step/vit_s/bf16", ViT(1000), 1000, compiled)
            time_step("step/sat_s/bf16", SAT(200), 200, compiled)
        except Exception as e:  # torch.compile may be unavailable (no Triton): report and go on
            print(f"cuda_sat_step.py: {'compiled' if compiled else 'eager'} step failed: {e}", file=sys.stderr,
                  flush=True)
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
