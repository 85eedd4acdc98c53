"""PyTorch side of bench/bench_models.cpp: the same work on the CPU in float32, with the same names,
the same untimed warm-up (one call) and the same fixed iteration counts, and the ratio to wsol.

  block/forward              timm's Block (dim 384, 6 heads, mlp_ratio 4, qkv bias, LayerNorm eps 1e-6)
                             on (8, 197, 384) under torch.no_grad()
  block/forward_backward     the same with autograd, backward from a fixed upstream gradient
  deit_s/inference/{1,64}    timm deit_small_patch16_224 (pretrained=False) in eval mode under
                             torch.no_grad(), 224x224 images; images/s
  sat_s/train_step/32        one SAT step on DeiT-S, 200 classes: forward, cross-entropy + batch area
                             loss + normalisation loss, backward, torch.optim.AdamW (its default CPU
                             implementation; weight decay 0.05, none for biases, norms and the tokens)

The SAT model is the one of bench/compare/cuda_sat_step.py (written from the specification,
../shared/reference/sat_csfn.md Part A): it computes what models/sat does, the same way - the spatial
token's score row alone for the maps, fused attention (F.scaled_dot_product_attention, as timm's
Block uses) with the gate folded into the values. tools/reference/sat_reference.py, the tested
reference, cannot be imported: it is a script that builds a tiny model and writes a fixture when
loaded.

Times are wall-clock, the mean over the timed iterations (what Google Benchmark reports). Threads:
torch.set_num_threads(--threads); with --bench the C++ program runs first with OMP_NUM_THREADS set
to the same number, and the ratio printed is wsol time / PyTorch time (above 1: wsol is slower).

Usage: /opt/refenv/bin/python bench/compare/models.py [--threads 2] [--bench build/cpu/bin/bench_models]
       [--filter REGEX]
"""
import argparse
import functools
import json
import os
import re
import subprocess
import sys
import time

import torch
import torch.nn as nn
import timm
from timm.models.vision_transformer import Block

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cuda_sat_step import SAT  # noqa: E402  (DeiT-S size, 224x224: the same constants as here)

DIM, HEADS, TOKENS = 384, 6, 197


def timed(fn, iterations):
    """One untimed call, then the mean wall-clock milliseconds of `iterations` calls."""
    fn()
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) * 1e3 / iterations


def deit_s_block():
    return Block(dim=DIM, num_heads=HEADS, mlp_ratio=4.0, qkv_bias=True,
                 norm_layer=functools.partial(nn.LayerNorm, eps=1e-6))


def block_forward(batch):
    block = deit_s_block()
    x = torch.randn(batch, TOKENS, DIM)

    def step():
        with torch.no_grad():
            block(x)
    return step


def block_forward_backward(batch):
    block = deit_s_block()
    x = torch.randn(batch, TOKENS, DIM, requires_grad=True)
    upstream = torch.randn(batch, TOKENS, DIM)

    def step():
        block.zero_grad(set_to_none=True)
        x.grad = None
        block(x).backward(upstream)
    return step


def deit_s_inference(batch):
    model = timm.create_model("deit_small_patch16_224", pretrained=False).eval()
    images = torch.randn(batch, 3, 224, 224)

    def step():
        with torch.no_grad():
            model(images)
    return step


def sat_train_step(batch):
    model = SAT(classes=200).train()
    # The groups of wsol's trainer: no decay for 1-D parameters (biases, norms) and the tokens.
    no_decay = {"pos_embed", "cls_token", "loc_embed", "loc_token"}
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and n not in no_decay]
    rest = [p for n, p in model.named_parameters() if not (p.ndim > 1 and n not in no_decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                                  lr=5e-4 * batch / 512)
    images = torch.randn(batch, 3, 224, 224)
    labels = torch.randint(0, 200, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        model.loss(images, labels).backward()
        optimizer.step()
    return step


# name (as bench_models.cpp registers it), setup, batch, timed iterations, whether images/s is reported
CASES = [
    ("block/forward", block_forward, 8, 10, False),
    ("block/forward_backward", block_forward_backward, 8, 10, False),
    ("deit_s/inference", deit_s_inference, 1, 10, True),
    ("deit_s/inference", deit_s_inference, 64, 2, True),
    ("sat_s/train_step", sat_train_step, 32, 2, True),
]


def cpp_times(bench, threads, pattern):
    """Milliseconds per iteration of each bench_models case, keyed "name/batch"."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_format=json", f"--benchmark_filter={pattern}"], env=env, check=True,
                         capture_output=True, text=True).stdout
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    times = {}
    for b in json.loads(out)["benchmarks"]:
        key = b["name"].split("/iterations:")[0]  # "deit_s/inference/64/iterations:2/real_time"
        times[key] = b["real_time"] * scale[b["time_unit"]]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (and OMP_NUM_THREADS for --bench)")
    parser.add_argument("--bench", help="path of bench_models: run it first and print the ratios")
    parser.add_argument("--filter", default=".", help="regular expression on the case names (as --benchmark_filter)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpp = cpp_times(args.bench, args.threads, args.filter) if args.bench else {}
    print(f"torch {torch.__version__}, timm {timm.__version__}, {torch.get_num_threads()} threads, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name, setup, batch, iterations, rate in CASES:
        key = f"{name}/{batch}"
        if not re.search(args.filter, key):
            continue
        ms = timed(setup(batch), iterations)
        line = f"  {key:28s} torch {ms:9.1f} ms"
        if rate:
            line += f" {batch / ms * 1e3:7.1f} images/s"
        if key in cpp:
            line += f"   wsol {cpp[key]:9.1f} ms"
            if rate:
                line += f" {batch / cpp[key] * 1e3:7.1f} images/s"
            line += f"   wsol/torch time {cpp[key] / ms:5.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
