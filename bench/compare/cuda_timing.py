"""Shared timing for the bench/compare/cuda_*.py scripts: CUDA events around each call after a
warm-up, the median of the repeats, one JSON line per result on stdout:
    {"name": "gemm/bf16/fwd/384x1152", "value": 612.3, "unit": "TFLOP/s", "ms": 0.074}
The names match bench/bench_cuda.cpp, so tools/gpu/summarize.py can put wsol and PyTorch side by side.
"""
import json
import statistics
import sys

import torch


def require_gpu():
    if not torch.cuda.is_available():
        print(f"{sys.argv[0]}: no CUDA device visible to PyTorch; nothing timed", file=sys.stderr)
        sys.exit(0)


def time_ms(fn, warmup=3, repeats=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def report(name, amount, unit, ms):
    scale = {"TFLOP/s": 1e-12, "GB/s": 1e-9}.get(unit, 1.0)  # images/s: amount is the image count
    print(json.dumps({"name": name, "value": amount * scale / (ms * 1e-3), "unit": unit, "ms": ms}), flush=True)
