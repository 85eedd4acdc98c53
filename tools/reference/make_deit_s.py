"""Writes a full-size deit_small_patch16_224 state dict with random weights (timm's key names and
shapes: 152 float32 tensors, 22,050,664 parameters, ~88 MB), for benchmarks and manual tests of
the checkpoint reader. The files are large: never commit them.

Usage (development machine; torch and timm from pip):
    python tools/reference/make_deit_s.py OUT.pth                      # zip container, {"model": sd}
    python tools/reference/make_deit_s.py OUT.pth --format legacy      # _use_new_zipfile_serialization=False
    python tools/reference/make_deit_s.py OUT.safetensors --format safetensors   # bare state dict
    python tools/reference/make_deit_s.py DIR --format all   # DIR/deit_s_zip.pth, deit_s_legacy.pth, deit_s.safetensors
The {"model": sd} wrapper is the one of the original DeiT release (deit_small_patch16_224-cd65a155.pth).
"""
import argparse
import os

import timm
import torch
from safetensors.torch import save_file


def deit_small_state_dict(seed):
    torch.manual_seed(seed)
    model = timm.create_model("deit_small_patch16_224", pretrained=False)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)  # random weights; the point is the size and the layout
    return model.state_dict()


def write(sd, path, fmt):
    if fmt == "zip":
        torch.save({"model": sd}, path)
    elif fmt == "legacy":
        torch.save({"model": sd}, path, _use_new_zipfile_serialization=False)
    else:
        save_file({k: v.contiguous() for k, v in sd.items()}, path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, {len(sd)} tensors, "
          f"{sum(v.numel() for v in sd.values()):,} parameters)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output file, or a folder with --format all")
    parser.add_argument("--format", choices=["zip", "legacy", "safetensors", "all"], default="zip")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sd = deit_small_state_dict(args.seed)
    if args.format != "all":
        write(sd, args.out, args.format)
        return
    os.makedirs(args.out, exist_ok=True)
    write(sd, os.path.join(args.out, "deit_s_zip.pth"), "zip")
    write(sd, os.path.join(args.out, "deit_s_legacy.pth"), "legacy")
    write(sd, os.path.join(args.out, "deit_s.safetensors"), "safetensors")


if __name__ == "__main__":
    main()
