"""Full-size check of a released-SAT-style checkpoint (not in CI; the file is 89 MB): SAT at DeiT-S size
(224 input, 16 patches, 384 channels, 6 heads, 12 blocks, the last 3 gated, 200 CUB classes), the
PyTorch reference of sat_reference.py with random weights, saved exactly as SAT's train.py saves
best_loc.pth.tar (legacy stream, storages on cuda:0, {"model": {"module." + key}, "best_thr", "epoch"}),
plus an input batch and the reference's logits and map. tests/train/test_sat_full_parity.cpp then runs
the file through train::load_model --method sat (what wsol-convert, wsol-eval and wsol-infer do with it).

Weights: every tensor N(0, 1) rescaled so that each block's output stays O(1)
(fixtures.keep_activations_o1, as deit_s_parity.py); the Gaussian kernel as SAT has it.

Usage: /opt/refenv/bin/python tools/reference/sat_full_parity.py /tmp/sat_parity
Then:  WSOL_SAT_PARITY=/tmp/sat_parity build/cpu/tests/test_train --gtest_filter='SATFullSize.*'
"""
import argparse
import collections
import os

import torch
from safetensors.torch import save_file

from fixtures import keep_activations_o1, save_legacy_as_from_gpu
from sat_reference import SATRef


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output folder (created)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    model = SATRef(img=224, patch=16, dim=384, depth=12, heads=6, classes=200, gated=3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:  # the Gaussian kernel
                continue
            p.copy_(keep_activations_o1(name, torch.randn_like(p)))
    model.eval()
    released = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
    ckpt = os.path.join(args.out, "best_loc.pth.tar")
    save_legacy_as_from_gpu({"model": released, "best_thr": 0.35, "epoch": 30}, ckpt)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logits, M, area, norm_term, maps = model(images)
    path = os.path.join(args.out, "sat_parity.safetensors")
    save_file({"input": images.contiguous(), "logits": logits.contiguous(), "map": M.contiguous()}, path)
    print(f"wrote {ckpt} ({os.path.getsize(ckpt) / 1e6:.1f} MB) and {path}; logits std {logits.std():.3f}, "
          f"top-1 {logits.argmax(1).tolist()}, map range [{M.min():.3f}, {M.max():.3f}]")


if __name__ == "__main__":
    main()
