"""Is a wsol-synth dataset learnable from labels? A quick CAM baseline in PyTorch (CPU, minutes).

Trains a small CNN (4 conv layers, stride 8, global average pooling, linear classifier) on the
ILSVRC-layout train split from image labels only, then measures on the test split:
  * top-1 classification accuracy,
  * GT-known localisation: CAM of the GT class (Zhou et al. 2016), bilinear to the input size,
    min-max normalised, box = extent of the largest 8-connected region above tau, IoU >= 0.5 with the
    GT box (rescaled as wsolevaluation does), best tau over {0.05, 0.10, ..., 0.95} (MaxBoxAcc-style).
This is a sanity check of the data (a ViT with a localisation token should do better than a CAM),
never part of the build.

Usage: build/cpu/bin/wsol-synth --out /tmp/synth --layout ilsvrc --classes 10 --train-per-class 150 \\
           --val-per-class 0 --test-per-class 30
       /opt/refenv/bin/python tools/reference/data_synth_check.py /tmp/synth
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def read_split(root, split, size):
    meta = os.path.join(root, "metadata", "ILSVRC", split)
    ids = open(os.path.join(meta, "image_ids.txt")).read().split()
    labels = dict(l.split(",") for l in open(os.path.join(meta, "class_labels.txt")).read().split())
    sizes = {l.split(",")[0]: tuple(map(int, l.split(",")[1:])) for l in open(os.path.join(meta, "image_sizes.txt")).read().split()}
    boxes = {}
    for line in open(os.path.join(meta, "localization.txt")).read().split():
        f = line.split(",")
        boxes.setdefault(f[0], []).append(list(map(int, f[1:])))
    x = np.zeros((len(ids), size, size, 3), np.uint8)
    for i, image_id in enumerate(ids):
        with Image.open(os.path.join(root, "ILSVRC", image_id)) as im:
            x[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))
    y = np.array([int(labels[i]) for i in ids])
    gt = []
    for image_id in ids:  # wsolevaluation's rescaling: int(x * S / W)
        w, h = sizes[image_id]
        gt.append([[int(b[0] * size / w), int(b[1] * size / h), int(b[2] * size / w), int(b[3] * size / h)]
                   for b in boxes[image_id]])
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y), gt


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        def block(i, o, s):
            return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.features = nn.Sequential(block(3, 32, 2), block(32, 64, 2), block(64, 128, 2), block(128, 128, 1),
                                      block(128, 128, 1))
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        f = self.features(x)
        return self.fc(f.mean((2, 3))), f


def normalise(x):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x.float() / 255 - mean) / std


def largest_region_box(mask):
    """Inclusive box of the largest 8-connected True region: labels spread by 3x3 max-pooling."""
    h, w = mask.shape
    labels = np.where(mask, np.arange(1, h * w + 1).reshape(h, w), 0)
    while True:
        padded = np.pad(labels, 1)
        grown = np.max([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)
        grown = np.where(mask, grown, 0)
        if np.array_equal(grown, labels):
            break
        labels = grown
    if not mask.any():
        return (0, 0, 0, 0)
    ids, counts = np.unique(labels[mask], return_counts=True)
    ys, xs = np.nonzero(labels == ids[counts.argmax()])  # a tie picks one of the largest; fine for a check
    return (xs.min(), ys.min(), xs.max(), ys.max())


def iou(a, b):  # inclusive corners, as wsolevaluation
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = iw * ih
    union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    return inter / union if union > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    s = args.size
    xtr, ytr, _ = read_split(args.root, "train", s + s // 8)
    xte, yte, gte = read_split(args.root, "test", s)
    classes = int(ytr.max()) + 1
    net = Net(classes)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=args.epochs * ((len(xtr) + 63) // 64))
    start = time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for k in range(0, len(xtr), 64):
            idx = perm[k:k + 64]
            big = xtr[idx]
            oy, ox = np.random.randint(0, s // 8 + 1, 2)
            x = big[:, :, oy:oy + s, ox:ox + s]
            if np.random.rand() < 0.5:
                x = x.flip(3)
            loss = F.cross_entropy(net(normalise(x))[0], ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} ({time.time() - start:.0f} s)", flush=True)
    net.eval()
    with torch.no_grad():
        logits, feats = net(normalise(xte))
        cams = torch.einsum("nchw,nc->nhw", feats, net.fc.weight[yte])
        cams = F.interpolate(cams[:, None], size=(s, s), mode="bilinear", align_corners=False)[:, 0]
    top1 = (logits.argmax(1) == yte).float().mean().item()
    taus = np.arange(0.05, 1.0, 0.05)
    hits = np.zeros(len(taus))
    for i in range(len(xte)):
        c = cams[i].numpy()
        c = (c - c.min()) / max(c.max() - c.min(), 1e-12)
        for t, tau in enumerate(taus):
            box = largest_region_box(c > tau)
            hits[t] += max(iou(box, g) for g in gte[i]) >= 0.5
    best = int(hits.argmax())
    print(f"test: top-1 {100 * top1:.1f}%, GT-known loc (CAM, IoU >= 0.5) {100 * hits[best] / len(xte):.1f}% "
          f"at tau {taus[best]:.2f}; {len(xtr)} train / {len(xte)} test images, {classes} classes")


if __name__ == "__main__":
    main()
