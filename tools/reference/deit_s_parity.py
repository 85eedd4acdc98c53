"""Full-size DeiT-S parity data: a deit_small_patch16_224 with random weights as a public-style .pth,
an input batch and timm's logits, for tests/models/test_deit_s_parity.cpp (which is skipped unless
WSOL_DEIT_S_PARITY names the folder). The tiny committed fixture (vit_parity.py) covers the
arithmetic; this checks the same at the real size: 12 blocks, 197 tokens, 384 channels, 1000 classes,
read through the .pth reader from DeiT's own {"model": state_dict} zip container.

The weights start as make_deit_s.py draws them (every tensor N(0, 0.02)) and are rescaled so that the
signal neither vanishes nor explodes through the 12 blocks: weights of fan-in n to N(0, 1/n), norm
scales to 1 + N(0, 0.1), biases and the tokens to N(0, 0.1). (With every tensor at N(0, 0.02), norm
scales included, the logits are ~1e-2 and an absolute tolerance of 1e-3 would prove little.)

Writes (88 MB; outside the repository, never commit):
    DIR/deit_s.pth                   {"model": state_dict}, torch.save's zip container
    DIR/deit_s_parity.safetensors    "input" (2, 3, 224, 224) float32, "logits" (2, 1000) from timm
Usage: /opt/refenv/bin/python tools/reference/deit_s_parity.py /tmp/deit_s_parity
Then:  WSOL_DEIT_S_PARITY=/tmp/deit_s_parity build/cpu/tests/test_models --gtest_filter='DeiTSmall.*'
"""
import argparse
import os

import timm
import torch
from safetensors.torch import save_file

from fixtures import keep_activations_o1
from make_deit_s import deit_small_state_dict, write


def rescaled(sd, seed):
    """make_deit_s's N(0, 0.02) tensors brought to scales that keep every block's output O(1)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, t in sd.items():
            t.copy_(keep_activations_o1(name, t / 0.02))  # t / 0.02 is N(0, 1)
    return sd


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="output folder (created)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    sd = rescaled(deit_small_state_dict(args.seed), args.seed)
    write(sd, os.path.join(args.out, "deit_s.pth"), "zip")

    model = timm.create_model("deit_small_patch16_224", pretrained=False)
    model.load_state_dict(sd)  # strict
    model.eval()
    torch.manual_seed(args.seed + 1)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logits = model(images)
    path = os.path.join(args.out, "deit_s_parity.safetensors")
    save_file({"input": images.contiguous(), "logits": logits.contiguous()}, path)
    print(f"wrote {path}; timm {timm.__version__}, torch {torch.__version__}; logits std {logits.std():.3f}, "
          f"max |logit| {logits.abs().max():.3f}, top-1 {logits.argmax(1).tolist()}")


if __name__ == "__main__":
    main()
