"""Fixtures for the data layer: small image files and what PIL/torchvision make of them.

Writes into tests/fixtures/data/:
  images/*        small JPEG/PNG files covering the decoder's cases (4:2:0, 4:2:2, 4:4:4, progressive,
                  grayscale, CMYK, a PNG under a .JPEG name, RGBA and palette PNGs, a truncated JPEG)
  decode.safetensors     "<file>": PIL's Image.open(file).convert("RGB") as uint8 (H, W, 3)
  resize.safetensors     "<case>/x" uint8 input, "<case>/y" PIL's resize(..., BILINEAR) output
  pipeline.safetensors   torchvision's transforms on one JPEG (Resize+CenterCrop, Resize(224), TenCrop,
                         ToTensor+Normalize) - the exact float32 tensors the seeds feed their models
  boxes.safetensors      GT box rescaling as the SAT evaluator and wsolevaluation compute it in Python

Usage: /opt/refenv/bin/python tools/reference/data_images.py  (never needed by the build)
"""
import io
import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

from fixtures import FIXTURES, save

OUT = os.path.join(FIXTURES, "data")
IMAGES = os.path.join(OUT, "images")


def smooth_picture(width, height, seed):
    """A natural-looking test picture: colour gradients, a few discs and mild noise (JPEG-friendly)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 128 + 90 * np.sin(a * xx / 9 + b * yy / 13 + p * 6)
    for _ in range(4):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, min(width, height) / 2)
        colour = rng.uniform(0, 255, 3)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = colour
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_images():
    os.makedirs(IMAGES, exist_ok=True)
    pic = Image.fromarray(smooth_picture(83, 61, 1))
    files = {}

    def keep(name, data):
        with open(os.path.join(IMAGES, name), "wb") as f:
            f.write(data)
        files[name] = data

    def jpeg(image, **kw):
        buf = io.BytesIO()
        image.save(buf, format="JPEG", **kw)
        return buf.getvalue()

    def png(image):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    keep("rgb420.jpg", jpeg(pic, quality=85, subsampling=2))
    keep("rgb422.jpg", jpeg(pic, quality=85, subsampling=1))
    keep("rgb444.jpg", jpeg(pic, quality=95, subsampling=0))
    keep("progressive.jpg", jpeg(pic, quality=80, progressive=True))
    keep("gray.jpg", jpeg(pic.convert("L"), quality=90))
    keep("cmyk.jpg", jpeg(pic.convert("CMYK"), quality=90))
    keep("odd_sizes.jpg", jpeg(Image.fromarray(smooth_picture(17, 9, 2)), quality=75))
    keep("png_named.JPEG", png(pic))
    rgba = pic.convert("RGBA")
    rgba.putalpha(Image.fromarray(smooth_picture(83, 61, 3)[..., 0]))
    keep("rgba.png", png(rgba))
    keep("palette.png", png(pic.convert("P", palette=Image.ADAPTIVE, colors=16)))
    keep("truncated.jpg", files["rgb420.jpg"][: len(files["rgb420.jpg"]) // 2])
    keep("empty.jpg", b"")
    # A bigger picture for the pipeline fixture (the shape of an ILSVRC image, scaled down).
    keep("pipeline.jpg", jpeg(Image.fromarray(smooth_picture(150, 112, 4)), quality=90))

    decoded = {}
    for name in sorted(files):
        if name in ("truncated.jpg", "empty.jpg"):
            continue
        with Image.open(os.path.join(IMAGES, name)) as im:
            decoded[name] = torch.from_numpy(np.asarray(im.convert("RGB")).copy())
    save("data/decode.safetensors", decoded)


def write_resize():
    rng = np.random.default_rng(7)
    out = {}
    cases = {
        # name: (input width, height, output width, height)
        "down_both": (97, 73, 31, 45),
        "up_x_down_y": (97, 73, 150, 20),
        "vertical_only": (64, 48, 64, 100),
        "horizontal_only": (40, 30, 13, 30),
        "up_both": (23, 17, 96, 80),
        "shrink_3x": (200, 150, 64, 52),
        "large_ratio": (250, 40, 7, 9),
        # Pillow >= 13 runs the vertical pass first here (the height loses > 2x the width's pixels).
        "tall_vertical_first": (60, 120, 50, 30),
    }
    for name, (w, h, ow, oh) in cases.items():
        # Uniform noise exercises every rounding path of the fixed-point arithmetic.
        x = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        y = np.asarray(Image.fromarray(x).resize((ow, oh), Image.BILINEAR))
        out[f"{name}/x"] = torch.from_numpy(x)
        out[f"{name}/y"] = torch.from_numpy(y.copy())
    save("data/resize.safetensors", out)


def write_pipeline():
    norm = transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    to_tensor = transforms.ToTensor()
    with Image.open(os.path.join(IMAGES, "pipeline.jpg")) as im:
        img = im.convert("RGB")
    out = {}
    # SAT's test transform, scaled down so the fixture stays small: resize to 64x64, centre crop 56.
    t = transforms.Compose([transforms.Resize((64, 64)), transforms.CenterCrop(56), to_tensor, norm])
    out["sat_eval_64_56"] = t(img)
    # wsolevaluation's test transform: direct resize (here to 48x40, width 48), no crop.
    t = transforms.Compose([transforms.Resize((40, 48)), to_tensor, norm])
    out["wsoleval_48x40"] = t(img)
    # Ten-crop (SAT's CUB evaluator, classification only): resize 40x40, TenCrop 24.
    t = transforms.Compose([transforms.Resize((40, 40)), transforms.TenCrop(24)])
    out["tencrop_40_24"] = torch.stack([norm(to_tensor(c)) for c in t(img)])
    # The training ops with fixed parameters: crop at (top=5, left=3), then horizontal flip.
    resized = transforms.Resize((64, 64))(img)
    crop = transforms.functional.crop(resized, 5, 3, 56, 56)
    out["train_crop_5_3_flip"] = norm(to_tensor(transforms.functional.hflip(crop)))
    out["train_crop_5_3_noflip_uint8"] = torch.from_numpy(np.asarray(crop).copy())
    save("data/pipeline.safetensors", out)


def write_boxes():
    """GT rescaling as the seeds' Python does it (float64, int() truncating toward zero)."""
    rng = np.random.default_rng(11)
    n = 200
    sizes = np.stack([rng.integers(20, 700, n), rng.integers(20, 700, n)], 1)  # (W, H)
    boxes = []
    for w, h in sizes:
        x0, x1 = sorted(rng.uniform(-5, w + 20, 2))
        y0, y1 = sorted(rng.uniform(-5, h + 20, 2))
        if rng.uniform() < 0.5:  # integer boxes as in wsolevaluation, float ones as in CUB's file
            x0, y0, x1, y1 = (float(int(v)) for v in (x0, y0, x1, y1))
        boxes.append((x0, y0, x1, y1))
    sat, wsol = [], []
    for (w, h), (x0, y0, x1, y1) in zip(sizes, boxes):
        w, h = int(w), int(h)
        # SAT evaluator (resize 256, centre crop 224, shift 16), see sat_csfn.md A5.
        sat.append([int(max(x0 * 256 / w - 16, 0)), int(max(y0 * 256 / h - 16, 0)),
                    int(min(x1 * 256 / w - 16, 223)), int(min(y1 * 256 / h - 16, 223))])
        # wsolevaluation (direct resize to 224), see evaluation.md B2.
        wsol.append([int(x0 * 224 / w), int(y0 * 224 / h), int(x1 * 224 / w), int(y1 * 224 / h)])
    save("data/boxes.safetensors", {
        "sizes": torch.tensor(sizes, dtype=torch.int64),
        "boxes": torch.tensor(boxes, dtype=torch.float64),
        "sat_224": torch.tensor(sat, dtype=torch.float64),
        "wsoleval_224": torch.tensor(wsol, dtype=torch.float64),
    })


if __name__ == "__main__":
    write_images()
    write_resize()
    write_pipeline()
    write_boxes()
