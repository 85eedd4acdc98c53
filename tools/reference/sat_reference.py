"""A PyTorch reference of SAT written from the specification (../shared/reference/sat_csfn.md, Part A),
on a tiny configuration, to check wsol's models/sat against: same weights -> same maps, logits, each
loss term and every parameter gradient.

Architecture (A1): DeiT blocks; token layout [cls, patches, spatial token]; in every block the spatial
token's raw score row averaged over heads, through a sigmoid, is the block's map m^l over all keys;
in the last three blocks the attention is A' = softmax(S) * m^l (key columns, no renormalisation).
Head: 3x3 conv D -> C on the patch grid, global average pooling. Map M = mean of the last three
blocks' maps over patch keys. Losses (A3): CE + |mean_b mean(M_b) - eps| + mean_b mean((1-G*M)(G*M)).

Also writes the same weights as SAT's released checkpoints are laid out (sat_csfn.md D2,
checkpoints.md 5.5): the legacy stream with storages on cuda:0, {"model": {"module." + key: tensor},
"best_thr": float, "epoch": int}, the Gaussian kernel stored as a non-trainable Parameter "weight".

Writes tests/fixtures/models/sat_tiny.safetensors and sat_tiny_legacy.pth. Run: /opt/refenv/bin/python tools/reference/sat_reference.py
"""
import collections
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer

from fixtures import FIXTURES, save, save_legacy_as_from_gpu

IMG, PATCH, DIM, DEPTH, HEADS, CLASSES, GATED, EPS_AREA = 32, 8, 16, 4, 2, 5, 3, 0.25


def gaussian_kernel(kernlen=3, nsig=6):
    interval = (2 * nsig + 1.0) / kernlen
    edges = torch.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, kernlen + 1, dtype=torch.float64)
    cdf = 0.5 * (1 + torch.erf(edges / math.sqrt(2)))
    k1 = cdf[1:] - cdf[:-1]
    k2 = torch.sqrt(torch.outer(k1, k1))
    return (k2 / k2.sum()).float().reshape(1, 1, kernlen, kernlen)


class SATRef(nn.Module):
    def __init__(self, img=IMG, patch=PATCH, dim=DIM, depth=DEPTH, heads=HEADS, classes=CLASSES, gated=GATED):
        super().__init__()
        self.img, self.patch, self.dim, self.depth, self.gated = img, patch, dim, depth, gated
        vit = VisionTransformer(img_size=img, patch_size=patch, embed_dim=dim, depth=depth, num_heads=heads,
                                num_classes=0, qkv_bias=True)
        self.patch_embed, self.blocks, self.norm = vit.patch_embed, vit.blocks, vit.norm
        self.cls_token, self.pos_embed = vit.cls_token, vit.pos_embed
        self.loc_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.loc_embed = nn.Parameter(torch.zeros(1, 1, dim))
        self.head = nn.Conv2d(dim, classes, 3, padding=1)
        self.weight = nn.Parameter(gaussian_kernel(), requires_grad=False)  # SAT keeps it as a frozen Parameter

    def attention(self, blk, x, gated):
        a = blk.attn
        B, N, C = x.shape
        qkv = a.qkv(x).reshape(B, N, 3, a.num_heads, C // a.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        s = (q @ k.transpose(-2, -1)) * a.scale                  # (B, H, N, N)
        m = torch.sigmoid(s[:, :, -1, :].mean(1))                 # (B, N) the spatial token's map
        attn = s.softmax(-1)
        if gated:
            attn = attn * m[:, None, None, :]                     # no renormalisation
        out = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return a.proj(out), m

    def forward(self, x):
        B = x.shape[0]
        p = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(B, -1, -1), p, self.loc_token.expand(B, -1, -1)], 1)
        t = t + torch.cat([self.pos_embed, self.loc_embed], 1)
        maps = []
        for i, blk in enumerate(self.blocks):
            h, m = self.attention(blk, blk.norm1(t), i >= self.depth - self.gated)
            t = t + h
            t = t + blk.mlp(blk.norm2(t))
            maps.append(m)
        t = self.norm(t)
        g = self.img // self.patch
        grid = t[:, 1:1 + g * g].transpose(1, 2).reshape(B, self.dim, g, g)
        class_maps = self.head(grid)
        logits = class_maps.mean((2, 3))
        M = torch.stack([m[:, 1:1 + g * g] for m in maps[-self.gated:]], 0).mean(0)  # (B, P)
        smooth = F.conv2d(M.reshape(B, 1, g, g), self.weight, padding=1)
        area = M.mean(1)
        norm_term = ((1 - smooth) * smooth).reshape(B, -1).mean(1)
        return logits, M.reshape(B, g, g), area, norm_term, maps



def main():
    torch.manual_seed(0)
    model = SATRef()
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:  # not the Gaussian kernel
                p.copy_(torch.randn_like(p) * 0.2)
    x = torch.randn(3, 3, IMG, IMG)
    labels = torch.tensor([0, 3, 4])
    logits, M, area, norm_term, maps = model(x)
    l_cls = F.cross_entropy(logits, labels)
    l_ba = (area.mean() - EPS_AREA).abs()
    l_norm = norm_term.mean()
    total = l_cls + l_ba + l_norm
    total.backward()

    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    out["out.input"], out["out.labels"] = x, labels
    out["out.logits"], out["out.map"], out["out.area"], out["out.norm_term"] = logits, M, area, norm_term
    for i, m in enumerate(maps):
        out[f"out.block_map{i}"] = m
    out["out.loss_cls"], out["out.loss_area"] = l_cls.reshape(1), l_ba.reshape(1)
    out["out.loss_norm"], out["out.loss_total"] = l_norm.reshape(1), total.reshape(1)
    for name, p in model.named_parameters():
        if p.requires_grad:
            out[f"grad.{name}"] = p.grad
    save("models/sat_tiny.safetensors", out)
    print("gaussian", gaussian_kernel().flatten().tolist())
    print("losses", l_cls.item(), l_ba.item(), l_norm.item())
    released = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    save_legacy_as_from_gpu({"model": released, "best_thr": 0.35, "epoch": 30},
                            os.path.join(FIXTURES, "models", "sat_tiny_legacy.pth"))


if __name__ == "__main__":
    main()
