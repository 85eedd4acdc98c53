"""Writes tests/fixtures/eval/parity/: eight 224x224 score maps, their metadata and the counts the
public wsolevaluation code gives for them, so that tests/eval/test_parity.cpp checks parity in
every build without Python.

The maps are stored as their uint8 levels q (one (8, 224, 224) uint8 .npy, 400 KB); both sides
evaluate the float64 maps min((q + 0.5) / 255, 1), which quantise back to exactly q. Kinds: smooth CAMs,
noisy, few-level blocks, rings with nested discs and lines, a map with max level 127, an all-zero
map. GT boxes: 1 to 5 per image on images of random sizes (several boxes, 1-pixel boxes,
full-image boxes, boxes at the origin).

Usage (development machine; wsolevaluation fetched outside the repository):
    /opt/refenv/bin/python tools/reference/eval_parity_fixture.py --wsolevaluation /tmp/wsolevaluation
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_make_synthetic as synth  # noqa: E402
import eval_wsolevaluation as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "eval", "parity")
KINDS = ["smooth", "noisy", "levels", "rings", "smooth", "scaled", "levels", "zero"]


def map_boxes(rng, q, w, h, count):
    """GT boxes that the map's boxes match at some thresholds and not at others: the extent of
    {q > t} for a random level t, jittered, in image coordinates; one in four is random."""
    out = []
    for _ in range(count):
        if q.max() == 0 or rng.random() < 0.25:
            out += synth.random_boxes(rng, w, h, 1)
            continue
        ys, xs = np.nonzero(q > rng.integers(0, q.max()))
        j = rng.integers(-6, 7, 4)
        x0, y0 = max(0, xs.min() + j[0]), max(0, ys.min() + j[1])
        x1, y1 = min(223, max(x0, xs.max() + j[2])), min(223, max(y0, ys.max() + j[3]))
        out.append((min(w - 1, x0 * w // 224), min(h - 1, y0 * h // 224), min(w - 1, x1 * w // 224),
                    min(h - 1, y1 * h // 224)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wsolevaluation", required=True)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    ids, sizes, boxes, levels = [], {}, {}, []
    for i, kind in enumerate(KINDS):
        image_id = f"parity/{kind}_{i}.jpg"
        w, h = int(rng.integers(30, 600)), int(rng.integers(30, 600))
        ids.append(image_id)
        sizes[image_id] = (w, h)
        m = np.clip(synth.make_map(rng, kind, synth.random_boxes(rng, w, h, 2), w, h), 0.0, 1.0)
        q = (m * 255).astype(np.uint8)
        levels.append(q)
        boxes[image_id] = map_boxes(rng, q, w, h, int(rng.choice([1, 2, 3, 5])))
    levels = np.stack(levels)

    shutil.rmtree(OUT, ignore_errors=True)
    meta = os.path.join(OUT, "metadata")
    os.makedirs(meta)
    np.save(os.path.join(OUT, "levels.npy"), levels)
    synth.write_lines(os.path.join(meta, "image_ids.txt"), ids)
    synth.write_lines(os.path.join(meta, "image_sizes.txt"), [f"{x},{sizes[x][0]},{sizes[x][1]}" for x in ids])
    synth.write_lines(os.path.join(meta, "localization.txt"),
                      [f"{x},{b[0]},{b[1]},{b[2]},{b[3]}" for x in ids for b in boxes[x]])

    work = tempfile.mkdtemp(prefix="wsol_parity_")
    for image_id, q in zip(ids, levels):
        path = os.path.join(work, os.path.splitext(image_id)[0] + ".npy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, np.minimum((q.astype(np.float64) + 0.5) / 255.0, 1.0))
    result = {}
    for interval in (0.001, 0.01):
        run_args = argparse.Namespace(wsolevaluation=args.wsolevaluation, metadata=meta, scoremaps=work, masks=None,
                                      cam_curve_interval=interval, keep_extension=False, limit=0)
        counts = ref.run(run_args)
        counts.pop("seconds")
        result[str(interval)] = counts
    shutil.rmtree(work)
    with open(os.path.join(OUT, "wsolevaluation_counts.json"), "w") as f:
        json.dump(result, f)
    for name in sorted(os.listdir(OUT)):
        path = os.path.join(OUT, name)
        if os.path.isfile(path):
            print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
