"""Runs the public wsolevaluation code (clovaai/wsolevaluation, fetched outside this repository) on
a folder of score maps and compares every count with wsol-eval's JSON.

Nothing of wsolevaluation is copied here: its evaluation.py is imported from the path given on the
command line. Two shims make the 2020 code run on numpy 2: `np.float` (removed in numpy 1.24) is
set to the builtin float, as it aliased before; and instead of its torch DataLoader (4 worker
processes) the maps are loaded in a plain loop, converted to float64 as its t2n() does, and handed
to the evaluator's accumulate() in metadata order, exactly like evaluate_wsol().

Usage:
  python eval_wsolevaluation.py --wsolevaluation /tmp/wsolevaluation --metadata <dir> \
      --scoremaps <dir> [--masks <dir>] [--cam-curve-interval 0.001] [--limit N] \
      [--out ref.json] [--compare ours.json]

With --compare, exits non-zero unless every count (BoxAcc numerators per CAM threshold and IoU
threshold, for the largest contour and for all contours; PxAP histograms) and every reported number
is identical.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def load_reference(path):
    if not hasattr(np, "float"):
        np.float = float  # the alias wsolevaluation's util.py and evaluation.py use
    sys.path.insert(0, path)
    import evaluation  # noqa: E402  (wsolevaluation's module, from the given checkout)
    import data_loaders  # noqa: E402

    return evaluation, data_loaders


def stem(image_id):
    return os.path.splitext(image_id)[0]


def run(args):
    evaluation, data_loaders = load_reference(args.wsolevaluation)
    import cv2

    metadata = data_loaders.configure_metadata(args.metadata)
    image_ids = data_loaders.get_image_ids(metadata)
    if args.limit:
        image_ids = image_ids[: args.limit]
    thresholds = list(np.arange(0, 1, args.cam_curve_interval))
    iou_list = [30, 50, 70]
    out = {"num_images": len(image_ids), "opencv": cv2.__version__, "numpy": np.__version__}
    if args.masks:
        ev = evaluation.MaskEvaluator(metadata=metadata, dataset_name="OpenImages", split="test",
                                      cam_threshold_list=thresholds, iou_threshold_list=iou_list,
                                      mask_root=args.masks, multi_contour_eval=False)
        evaluators = {"mask": ev}
    else:
        # wsolevaluation keeps only image ids of the metadata: restrict to the evaluated prefix.
        evaluators = {}
        for name, multi in (("largest", False), ("all", True)):
            ev = evaluation.BoxEvaluator(metadata=metadata, dataset_name="CUB", split="test",
                                         cam_threshold_list=thresholds, iou_threshold_list=iou_list,
                                         mask_root=None, multi_contour_eval=multi)
            evaluators[name] = ev
    start = time.perf_counter()
    for image_id in image_ids:
        name = image_id if args.keep_extension else stem(image_id)
        cam = np.load(os.path.join(args.scoremaps, name + ".npy")).astype(np.float64)  # t2n(): .astype(np.float)
        for ev in evaluators.values():
            ev.accumulate(cam, image_id)
    out["seconds"] = time.perf_counter() - start
    if args.masks:
        ev = evaluators["mask"]
        out["pxap"] = float(ev.compute())
        out["positive_histogram"] = [int(v) for v in ev.gt_true_score_hist]
        out["negative_histogram"] = [int(v) for v in ev.gt_false_score_hist]
    else:
        for name, key in (("largest", "maxboxacc"), ("all", "maxboxacc_v2")):
            ev = evaluators[name]
            accs = ev.compute()
            out[key + "_at"] = {str(d): float(a) for d, a in zip(iou_list, accs)}
            out["num_correct" + ("" if name == "largest" else "_v2")] = {
                str(d): [int(v) for v in ev.num_correct[d]] for d in iou_list}
        out["maxboxacc"] = out["maxboxacc_at"]["50"]
        out["maxboxacc_v2"] = float(np.average([out["maxboxacc_v2_at"][str(d)] for d in iou_list]))
    return out


def compare(ref, ours):
    problems = []

    def same(what, a, b):
        if a != b:
            problems.append(f"{what}: reference {a!r} vs wsol-eval {b!r}")

    same("num_images", ref["num_images"], ours["num_images"])
    if "pxap" in ref:
        same("pxap", ref["pxap"], ours["pxap"])
        same("positive_histogram", ref["positive_histogram"], ours["curves"]["positive_histogram"])
        same("negative_histogram", ref["negative_histogram"], ours["curves"]["negative_histogram"])
        return problems
    for key in ("maxboxacc", "maxboxacc_v2"):
        same(key, ref[key], ours[key])
    for key in ("maxboxacc_at", "maxboxacc_v2_at"):
        for d, v in ref[key].items():
            same(f"{key}[{d}]", v, ours[key][d])
    for key in ("num_correct", "num_correct_v2"):
        for d, counts in ref[key].items():
            theirs = ours["curves"][key][d]
            diff = [i for i, (a, b) in enumerate(zip(counts, theirs)) if a != b]
            if len(counts) != len(theirs) or diff:
                problems.append(f"{key}[{d}]: {len(diff)} thresholds differ, first at index "
                                f"{diff[0] if diff else '-'}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wsolevaluation", required=True, help="a checkout of clovaai/wsolevaluation")
    parser.add_argument("--metadata", required=True)
    parser.add_argument("--scoremaps", required=True)
    parser.add_argument("--masks", help="mask root (OpenImages-like metadata)")
    parser.add_argument("--cam-curve-interval", type=float, default=0.001)
    parser.add_argument("--keep-extension", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N images")
    parser.add_argument("--out", help="write the reference numbers as JSON")
    parser.add_argument("--compare", help="wsol-eval's --json output to compare with")
    args = parser.parse_args()

    ref = run(args)
    print(f"wsolevaluation: {ref['num_images']} images in {ref['seconds']:.1f} s "
          f"(OpenCV {ref['opencv']}, numpy {ref['numpy']})")
    for key in ("maxboxacc", "maxboxacc_v2", "pxap"):
        if key in ref:
            print(f"  {key} = {ref[key]!r}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(ref, f)
    if args.compare:
        with open(args.compare) as f:
            ours = json.load(f)
        problems = compare(ref, ours)
        for p in problems:
            print("MISMATCH " + p)
        if problems:
            sys.exit(1)
        print("every count and number is identical")


if __name__ == "__main__":
    main()
