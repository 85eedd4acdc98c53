"""Checks `wsol-convert --export-timm` against timm itself (not in CI: it needs torch, timm and the
built apps): a timm DeiT with random weights saved as DeiT's checkpoints are ({"model": state_dict},
torch.save zip) -> `wsol-convert --method vit` (our checkpoint) -> `wsol-convert --export-timm` ->
timm's load_state_dict(strict=True) on a fresh model -> the same logits as the original, bit for bit.
tests/apps/test_convert.cpp checks the same key set and values in CI on the tiny fixture.

Usage: /opt/refenv/bin/python tools/reference/export_timm_check.py [--bin build/cpu/bin]
                                                                   [--arch deit_tiny_patch16_224 ...]
"""
import argparse
import os
import subprocess
import tempfile

import timm
import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(arch, convert, work):
    torch.manual_seed(0)
    source = timm.create_model(arch, pretrained=False).eval()
    with torch.no_grad():
        for p in source.parameters():  # every tensor non-trivial (timm's init zeroes biases)
            p.add_(0.02 * torch.randn_like(p))
    pth = os.path.join(work, arch + ".pth")
    torch.save({"model": source.state_dict()}, pth)
    ours = os.path.join(work, arch + "_wsol.safetensors")
    back = os.path.join(work, arch + "_timm.safetensors")
    subprocess.run([convert, pth, ours, "--method", "vit"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([convert, ours, back, "--export-timm"], check=True, stdout=subprocess.DEVNULL)
    fresh = timm.create_model(arch, pretrained=False).eval()
    fresh.load_state_dict(load_file(back), strict=True)  # raises on any missing/unexpected/mismatched key
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        diff = (fresh(x) - source(x)).abs().max().item()
    print(f"{arch}: timm load_state_dict(strict=True) accepted the export; max |logit diff| = {diff:.3g}")
    return diff == 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "cpu", "bin"))
    parser.add_argument("--arch", nargs="+", default=["deit_tiny_patch16_224", "deit_small_patch16_224"])
    args = parser.parse_args()
    convert = os.path.join(args.bin, "wsol-convert")
    with tempfile.TemporaryDirectory() as work:
        ok = all([check(arch, convert, work) for arch in args.arch])
    print("timm", timm.__version__, "torch", torch.__version__, "->", "OK" if ok else "MISMATCH")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
