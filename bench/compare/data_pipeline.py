"""torchvision + PIL doing what bench/bench_data.cpp's pipeline does, on the same JPEG files, and the ratio.

Pipeline per image: Image.open(path).convert("RGB"), Resize((256, 256)) (PIL bilinear, antialiased),
RandomCrop(224), RandomHorizontalFlip(), ToTensor(), Normalize(ImageNet mean/std).
  one thread:  a plain loop in this process (torch.set_num_threads(1)); rates per wall second and per
               CPU second (the latter is what to compare on a machine shared with other work)
  N threads:   torch.utils.data.DataLoader(num_workers=N, batch_size=32), the usual way to run it

Usage (run the C++ bench first, or pass --bench to let this script run it and print the ratio):
  /opt/refenv/bin/python bench/compare/data_pipeline.py --bench build/cpu/bin/bench_data
The JPEGs are read from $WSOL_BENCH_DATA_DIR (default /tmp/wsol_bench_data), written by bench_data.
"""
import argparse
import glob
import json
import os
import subprocess
import time

import torch
from PIL import Image
from torchvision import transforms

TRANSFORM = transforms.Compose([
    transforms.Resize((256, 256)),
    transforms.RandomCrop(224),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
])


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, repeat):
        self.paths = paths * repeat

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return TRANSFORM(im.convert("RGB")), 0


def one_thread(paths, seconds):
    """Images per second of wall time and of CPU time (the CPU rate is the robust one on a busy machine)."""
    torch.set_num_threads(1)
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for p in paths:
            with Image.open(p) as im:
                TRANSFORM(im.convert("RGB"))
            n += 1
    return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


def loader(paths, workers, epochs):
    torch.set_num_threads(1)
    dl = torch.utils.data.DataLoader(Files(paths, 4), batch_size=32, shuffle=True, num_workers=workers,
                                     persistent_workers=True, prefetch_factor=4)
    for _ in dl:  # warm-up epoch: starts the worker processes
        pass
    n, start = 0, time.perf_counter()
    for _ in range(epochs):
        for x, _ in dl:
            n += x.shape[0]
    return n / (time.perf_counter() - start)


def cpp_numbers(bench):
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_filter=PipelineOneImage|Loader"],
                         check=True, capture_output=True, text=True).stdout
    rates = {}
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for b in json.loads(out)["benchmarks"]:
        if b["name"] == "BM_PipelineOneImage":  # one image per iteration
            unit = scale[b["time_unit"]]
            rates["one thread, wall"] = 1 / (b["real_time"] * unit)
            rates["one thread, CPU"] = 1 / (b["cpu_time"] * unit)
        else:  # the loaders count images, timed on the wall clock
            rates[b["name"].split("/min_time")[0]] = b["items_per_second"]
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.environ.get("WSOL_BENCH_DATA_DIR", "/tmp/wsol_bench_data"))
    ap.add_argument("--bench", help="path of bench_data: run it and print the ratio")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    cpp = cpp_numbers(args.bench) if args.bench else None  # also writes the JPEGs
    paths = sorted(glob.glob(os.path.join(args.dir, "*.jpg")))
    if not paths:
        raise SystemExit(f"no JPEGs in {args.dir}: run build/cpu/bin/bench_data first (it writes them)")
    with Image.open(paths[0]) as im:
        size = im.size
    print(f"{len(paths)} JPEGs of {size[0]}x{size[1]} from {args.dir}; torch {torch.__version__}, "
          f"PIL {Image.__version__}, {os.cpu_count()} CPUs")
    wall, cpu_rate = one_thread(paths, args.seconds)
    py = {"one thread, wall": wall, "one thread, CPU": cpu_rate,
          "DataLoader, 1 worker": loader(paths, 1, args.epochs),
          "DataLoader, 2 workers": loader(paths, 2, args.epochs)}
    keys = {"one thread, wall": "one thread, wall", "one thread, CPU": "one thread, CPU",
            "DataLoader, 1 worker": "BM_Loader/1", "DataLoader, 2 workers": "BM_Loader/2"}
    for name, rate in py.items():
        line = f"  {name:24s} torchvision+PIL {rate:7.1f} images/s"
        if cpp and keys[name] in cpp:
            line += f"   wsol {cpp[keys[name]]:7.1f} images/s   ratio wsol/torchvision {cpp[keys[name]] / rate:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
