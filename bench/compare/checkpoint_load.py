"""PyTorch side of bench/bench_checkpoint.cpp: the same files loaded by torch.load (zip and legacy
containers, weights_only=True as torch >= 2.6 does by default) and safetensors.torch.load_file, with
the same kind of baseline (reading the file's bytes). Prints the median and the minimum of N runs in
milliseconds (the minimum is the least disturbed on a shared machine).

Usage: python bench/compare/checkpoint_load.py DIR [--runs N]
       (DIR from: python tools/reference/make_deit_s.py DIR --format all)
"""
import argparse
import os
import statistics
import time

import torch
from safetensors.torch import load_file


def timings_ms(fn, runs):
    fn()  # warm the page cache and lazy imports
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def clone_all(state_dict):
    return {k: v.clone() for k, v in state_dict.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    zip_path = os.path.join(args.dir, "deit_s_zip.pth")
    legacy_path = os.path.join(args.dir, "deit_s_legacy.pth")
    st_path = os.path.join(args.dir, "deit_s.safetensors")

    def read_bytes():
        with open(zip_path, "rb") as f:
            return f.read()

    rows = [
        ("read file bytes", timings_ms(read_bytes, args.runs)),
        ("torch.load zip", timings_ms(lambda: torch.load(zip_path, map_location="cpu", weights_only=True), args.runs)),
        # mmap=True and safetensors' load_file map the file lazily: no data is read until used. The
        # "+ clone" rows copy every tensor once, which is what the wsol loaders deliver.
        ("torch.load zip mmap=True", timings_ms(
            lambda: torch.load(zip_path, map_location="cpu", weights_only=True, mmap=True), args.runs)),
        ("torch.load zip mmap + clone", timings_ms(lambda: clone_all(
            torch.load(zip_path, map_location="cpu", weights_only=True, mmap=True)["model"]), args.runs)),
        ("torch.load legacy", timings_ms(
            lambda: torch.load(legacy_path, map_location="cpu", weights_only=True), args.runs)),
        ("safetensors load_file", timings_ms(lambda: load_file(st_path), args.runs)),
        ("safetensors load_file + clone", timings_ms(lambda: clone_all(load_file(st_path)), args.runs)),
    ]
    print(f"torch {torch.__version__}, {args.runs} runs: median, min")
    for name, (median, fastest) in rows:
        print(f"{name:28s} {median:8.1f} ms {fastest:8.1f} ms")


if __name__ == "__main__":
    main()
