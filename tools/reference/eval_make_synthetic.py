"""Writes synthetic score maps (and, if asked, synthetic wsolevaluation metadata) for parity runs
and benchmarks of wsol-eval. Nothing here is committed: write into /tmp.

Score maps are <out>/scoremaps/<image_id without extension>.npy, 224x224 (wsolevaluation compares
maps with GT boxes resized to 224x224, so parity runs need that size). Map kinds, mixed:
  smooth   CAM-like: a low-resolution map with a blob near a GT box, distractor blobs and noise,
           OpenCV-bicubic-upsampled to 224 and min-max normalised (wsolevaluation's inference);
  noisy    smooth plus salt noise and speckle: many small components, holes, diagonal contacts;
  levels   a few distinct values (0, .25, .5, .75, 1) in blocks: equal areas, ties, nested holes;
  rings    annuli with nested discs and single-pixel lines;
  scaled   smooth * 0.5 (quantised max 127: thresholds int(tau * 127));
  zero     all zeros (a constant map after normalisation); tiny: every value below 1/255.

Usage:
  python eval_make_synthetic.py --out /tmp/wsol_synth --count 300 --seed 0            # own metadata
  python eval_make_synthetic.py --out /tmp/cub --metadata shared/data/wsolevaluation/CUB/test \
      --kinds smooth --dtype float32                                               # real metadata
  python eval_make_synthetic.py --out /tmp/oi --count 60 --masks                      # PxAP data
"""
import argparse
import os

import cv2
import numpy as np

SIZE = 224


def normalise(cam):
    if np.isnan(cam).any() or cam.min() == cam.max():
        return np.zeros_like(cam)
    cam = cam - cam.min()
    return cam / cam.max()


def blob_map(rng, boxes, w, h, low):
    grid = np.arange(low)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    cam = rng.normal(0, rng.uniform(0.05, 0.4), (low, low))
    for (x0, y0, x1, y1) in boxes[: rng.integers(1, len(boxes) + 1)]:
        cx = (x0 + x1) / 2 / w * low + rng.normal(0, low / 10)
        cy = (y0 + y1) / 2 / h * low + rng.normal(0, low / 10)
        sx = max(0.5, (x1 - x0) / w * low / rng.uniform(2, 5))
        sy = max(0.5, (y1 - y0) / h * low / rng.uniform(2, 5))
        cam += np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)
    for _ in range(rng.integers(0, 4)):
        cx, cy, s = rng.uniform(0, low), rng.uniform(0, low), rng.uniform(0.5, low / 4)
        cam += rng.uniform(0.2, 0.9) * np.exp(-(((xx - cx) / s) ** 2 + ((yy - cy) / s) ** 2) / 2)
    up = cv2.resize(cam, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    return normalise(up)


def make_map(rng, kind, boxes, w, h):
    if kind == "smooth":
        return blob_map(rng, boxes, w, h, int(rng.choice([7, 14, 14, 28])))
    if kind == "noisy":
        m = blob_map(rng, boxes, w, h, 14)
        salt = rng.random((SIZE, SIZE)) < rng.uniform(0.001, 0.05)
        m[salt] = rng.random(int(salt.sum()))
        speckle = rng.random((SIZE, SIZE)) < rng.uniform(0.0, 0.2)
        m[speckle] *= rng.uniform(0, 1)
        return m
    if kind == "levels":
        cells = int(rng.choice([4, 8, 16, 32]))
        low = rng.integers(0, 5, (cells, cells)) / 4.0
        return cv2.resize(low, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    if kind == "rings":
        m = np.zeros((SIZE, SIZE))
        for _ in range(rng.integers(1, 5)):
            c = (int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)))
            r = int(rng.integers(3, 60))
            cv2.circle(m, c, r, float(rng.uniform(0.3, 1.0)), int(rng.integers(1, 6)))
            cv2.circle(m, c, max(1, r // 3), float(rng.uniform(0.3, 1.0)), -1)
        for _ in range(rng.integers(0, 4)):
            p = tuple(int(v) for v in rng.integers(0, SIZE, 2))
            q = tuple(int(v) for v in rng.integers(0, SIZE, 2))
            cv2.line(m, p, q, float(rng.uniform(0.2, 1.0)), 1)
        return m
    if kind == "scaled":
        return blob_map(rng, boxes, w, h, 14) * 0.5
    if kind == "zero":
        return np.zeros((SIZE, SIZE))
    if kind == "tiny":
        return rng.random((SIZE, SIZE)) * (0.99 / 255)
    raise ValueError(kind)


def random_boxes(rng, w, h, count):
    boxes = []
    for _ in range(count):
        style = rng.integers(0, 10)
        if style == 0:
            boxes.append((0, 0, w - 1, h - 1))
        elif style == 1:
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            boxes.append((x, y, x, y))  # a single pixel
        elif style == 2:
            boxes.append((0, 0, int(rng.integers(0, 4)), int(rng.integers(0, 4))))  # at the origin
        else:
            xs = sorted(int(v) for v in rng.integers(0, w, 2))
            ys = sorted(int(v) for v in rng.integers(0, h, 2))
            boxes.append((xs[0], ys[0], xs[1], ys[1]))
    return boxes


def read_metadata(folder):
    def lines(name):
        path = os.path.join(folder, name)
        with open(path) as f:
            return [line.rstrip("\n").split(",") for line in f.read().split("\n") if line]

    ids = [f[0] for f in lines("image_ids.txt")]
    sizes = {f[0]: (int(f[1]), int(f[2])) for f in lines("image_sizes.txt")}
    boxes = {}
    for f in lines("localization.txt"):
        boxes.setdefault(f[0], []).append(tuple(int(v) for v in f[1:5]))
    return ids, sizes, boxes


def write_lines(path, rows):
    with open(path, "w") as f:
        f.write("\n".join(rows))  # like wsolevaluation's files: no newline after the last line


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--metadata", help="use this real metadata folder instead of writing synthetic metadata")
    parser.add_argument("--count", type=int, default=200, help="images (synthetic metadata) or the first N ids")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="smooth,smooth,smooth,noisy,levels,rings,scaled,zero,tiny")
    parser.add_argument("--dtype", default="mixed", choices=["float32", "float64", "mixed"])
    parser.add_argument("--masks", action="store_true", help="OpenImages-like mask metadata and PNGs (PxAP)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    kinds = args.kinds.split(",")
    os.makedirs(args.out, exist_ok=True)
    if args.metadata:
        ids, sizes, boxes = read_metadata(args.metadata)
        if args.count > 0:
            ids = ids[: args.count]
        meta_dir = args.metadata
    else:
        ids, sizes, boxes = [], {}, {}
        for i in range(args.count):
            image_id = f"synth/{i % 7}/img_{i:05d}.jpg"
            ids.append(image_id)
            w, h = int(rng.integers(20, 700)), int(rng.integers(20, 700))
            if i % 13 == 0:
                w, h = SIZE, SIZE
            sizes[image_id] = (w, h)
            boxes[image_id] = random_boxes(rng, w, h, int(rng.choice([1, 1, 1, 2, 3, 5])))
        meta_dir = os.path.join(args.out, "metadata")
        os.makedirs(meta_dir, exist_ok=True)
        write_lines(os.path.join(meta_dir, "image_ids.txt"), ids)
        write_lines(os.path.join(meta_dir, "class_labels.txt"), [f"{x},{i % 5}" for i, x in enumerate(ids)])
        if args.masks:
            write_lines(os.path.join(meta_dir, "image_sizes.txt"), [])
            rows = []
            mask_dir = os.path.join(args.out, "masks")
            for i, x in enumerate(ids):
                w, h = sizes[x]
                stem = os.path.splitext(x)[0]
                os.makedirs(os.path.join(mask_dir, os.path.dirname(stem)), exist_ok=True)
                instances = int(rng.integers(1, 4))
                for k in range(instances):
                    m = np.zeros((h, w), np.uint8)
                    if not (i % 11 == 0 and k == 0):  # some empty instance masks
                        cv2.ellipse(m, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                                    (int(rng.integers(1, w // 2 + 2)), int(rng.integers(1, h // 2 + 2))),
                                    float(rng.uniform(0, 180)), 0, 360, 255, -1)
                    cv2.imwrite(os.path.join(mask_dir, f"{stem}_m{k}.png"), m)
                    ignore = ""
                    if k == 0:
                        ig = np.zeros((h, w), np.uint8)
                        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
                        ig[y0 : y0 + int(rng.integers(0, h // 2 + 1)), x0 : x0 + int(rng.integers(0, w // 2 + 1))] = 255
                        cv2.imwrite(os.path.join(mask_dir, f"{stem}_ignore.png"), ig)
                        ignore = f"{stem}_ignore.png"
                    rows.append(f"{x},{stem}_m{k}.png,{ignore}")
            write_lines(os.path.join(meta_dir, "localization.txt"), rows)
        else:
            write_lines(os.path.join(meta_dir, "image_sizes.txt"), [f"{x},{sizes[x][0]},{sizes[x][1]}" for x in ids])
            write_lines(os.path.join(meta_dir, "localization.txt"),
                        [f"{x},{b[0]},{b[1]},{b[2]},{b[3]}" for x in ids for b in boxes[x]])

    for i, image_id in enumerate(ids):
        w, h = sizes.get(image_id, (SIZE, SIZE))
        kind = kinds[i % len(kinds)]
        m = make_map(rng, kind, boxes.get(image_id, [(0, 0, w - 1, h - 1)]), w, h)
        m = np.clip(m, 0.0, 1.0)
        dtype = {"float32": np.float32, "float64": np.float64}.get(args.dtype)
        if dtype is None:
            dtype = np.float32 if i % 4 == 3 else np.float64
        path = os.path.join(args.out, "scoremaps", os.path.splitext(image_id)[0] + ".npy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, m.astype(dtype))
        if (i + 1) % 5000 == 0:
            print(f"{i + 1} maps", flush=True)
    print(f"wrote {len(ids)} score maps under {args.out}/scoremaps (metadata: {meta_dir})")


if __name__ == "__main__":
    main()
