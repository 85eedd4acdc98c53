"""Times MaxBoxAccV2 (1000 CAM thresholds) in wsol-eval against the public wsolevaluation code on the
same score maps, on the same machine, and checks that every count agrees.

The maps come from tools/reference/eval_make_synthetic.py (into /tmp, never committed). For the
first --limit images of the metadata, a subset metadata folder is written; then
  1. wsol-eval scoremaps --threads <T> runs on it (wall time; it computes MaxBoxAcc and MaxBoxAccV2),
  2. wsolevaluation's BoxEvaluator with multi_contour_eval=True (MaxBoxAccV2) runs on the same maps
     in this process (wall time; single-threaded, as its accumulate() is), and, with --check, also
     the largest-contour evaluator (MaxBoxAcc) for the count comparison (not timed),
  3. the counts are compared (tools/reference/eval_wsolevaluation.py).
The per-image times are extrapolated linearly to --total images when the subset is smaller.

Usage:
  python bench/compare/eval_maxboxacc.py --wsolevaluation /tmp/wsolevaluation \
      --metadata /work/shared/data/wsolevaluation/CUB/test --scoremaps /tmp/cub_maps/scoremaps \
      --wsol-eval build/cpu/bin/wsol-eval --limit 200 --total 5794 --threads 2 --check
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "reference"))
import eval_wsolevaluation as ref  # noqa: E402


def subset_metadata(src, dst, limit):
    with open(os.path.join(src, "image_ids.txt")) as f:
        ids = [line for line in f.read().split("\n") if line]
    if limit:
        ids = ids[:limit]
    keep = set(ids)
    os.makedirs(dst, exist_ok=True)
    for name in ("image_ids.txt", "class_labels.txt", "image_sizes.txt", "localization.txt"):
        path = os.path.join(src, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            rows = [line for line in f.read().split("\n") if line and line.split(",")[0] in keep]
        with open(os.path.join(dst, name), "w") as f:
            f.write("\n".join(rows))
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wsolevaluation", required=True)
    parser.add_argument("--metadata", required=True)
    parser.add_argument("--scoremaps", required=True)
    parser.add_argument("--wsol-eval", required=True, help="path of the wsol-eval binary")
    parser.add_argument("--limit", type=int, default=0, help="first N images (0: all)")
    parser.add_argument("--total", type=int, default=0, help="extrapolate the times to this many images")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="also run MaxBoxAcc (largest contour) and compare")
    parser.add_argument("--skip-ours", action="store_true")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="wsol_bench_")
    meta = os.path.join(work, "metadata")
    ids = subset_metadata(args.metadata, meta, args.limit)
    n = len(ids)

    ours_json = os.path.join(work, "ours.json")
    ours_s = None
    if not args.skip_ours:
        start = time.perf_counter()
        subprocess.run([args.wsol_eval, "scoremaps", "--metadata", meta, "--scoremaps", args.scoremaps,
                        "--threads", str(args.threads), "--json", ours_json], check=True, stdout=subprocess.DEVNULL)
        ours_s = time.perf_counter() - start

    evaluation, data_loaders = ref.load_reference(args.wsolevaluation)
    import numpy as np

    metadata = data_loaders.configure_metadata(meta)
    thresholds = list(np.arange(0, 1, 0.001))
    make = lambda multi: evaluation.BoxEvaluator(metadata=metadata, dataset_name="ILSVRC", split="test",  # noqa: E731
                                                 cam_threshold_list=thresholds, iou_threshold_list=[30, 50, 70],
                                                 mask_root=None, multi_contour_eval=multi)
    v2 = make(True)
    maps = [os.path.join(args.scoremaps, os.path.splitext(x)[0] + ".npy") for x in ids]
    start = time.perf_counter()
    for image_id, path in zip(ids, maps):
        v2.accumulate(np.load(path).astype(np.float64), image_id)
    ref_s = time.perf_counter() - start
    accs = v2.compute()

    total = args.total or n
    print(f"{n} score maps (extrapolated to {total})")
    print(f"  wsolevaluation MaxBoxAccV2: {ref_s:8.1f} s  {ref_s / n * 1000:8.1f} ms/map  -> {ref_s / n * total:9.0f} s")
    if ours_s is not None:
        print(f"  wsol-eval ({args.threads} threads, MaxBoxAcc + V2, incl. loading): {ours_s:8.1f} s  "
              f"{ours_s / n * 1000:8.2f} ms/map  -> {ours_s / n * total:7.0f} s   speed-up {ref_s / ours_s:.0f}x")
    print(f"  reference MaxBoxAccV2 = {float(np.average(accs))!r}")

    if args.check and ours_s is not None:
        v1 = make(False)
        for image_id, path in zip(ids, maps):
            v1.accumulate(np.load(path).astype(np.float64), image_id)
        reference = {"num_images": n, "maxboxacc": float(v1.compute()[1]), "maxboxacc_v2": float(np.average(accs)),
                     "maxboxacc_at": {str(d): float(a) for d, a in zip([30, 50, 70], v1.compute())},
                     "maxboxacc_v2_at": {str(d): float(a) for d, a in zip([30, 50, 70], accs)},
                     "num_correct": {str(d): [int(v) for v in v1.num_correct[d]] for d in (30, 50, 70)},
                     "num_correct_v2": {str(d): [int(v) for v in v2.num_correct[d]] for d in (30, 50, 70)}}
        with open(ours_json) as f:
            ours = json.load(f)
        problems = ref.compare(reference, ours)
        for p in problems:
            print("MISMATCH " + p)
        print("every count and number is identical" if not problems else f"{len(problems)} mismatches")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
