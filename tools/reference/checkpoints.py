"""Writes the checkpoint-reader fixtures: small .pth files in every container torch.save has used,
the tensors torch.load reads from them (the oracle), bad files, and the fuzzers' seed corpora.

Usage (development machine only; torch, timm and safetensors from pip):
    python tools/reference/checkpoints.py

Into tests/fixtures/checkpoints/:
  vit_zip.pth           {"model": sd} in the zip format (torch >= 1.6), sd = a tiny timm ViT with
                        DeiT's key structure (cls_token, pos_embed, patch_embed.proj.*, blocks.0-1.*,
                        norm.*, head.*) and random weights
  sat_legacy.pth        SAT's wrapper {"model": {"module." + k: v}, "best_thr": 0.4, "epoch": 30,
                        "args": Namespace} saved with _use_new_zipfile_serialization=False, storages
                        tagged "cuda:0" like SAT's DataParallel model
  vit_tar.pth           the tar format of torch <= 0.1.9, written here following the layout of
                        torch 0.1's serialization.py (torch can no longer write it), Python 3 pickles,
                        with a storage view
  resnet_tar_py2.pth    the same format as Python 2 wrote it (byte strings, text ints, OrderedDict
                        from an item list), like torchvision's resnet50-19c8e357.pth
  views_zip.pth         shared storages: views with offsets and strides, a transpose, odd strides
  views_legacy.pth      on size-1 dims, float16/bfloat16/int64/bool/float64 tensors, a 0-d tensor,
                        an nn.Parameter (same object, both containers)
  views_deflated.pth    views_zip.pth with deflated records (other zip tools)
  views_zip64.pth       views_zip.pth with ZIP64 central directory fields and end records
  v3_untyped.pth        _rebuild_tensor_v3: a float32 tensor over an UntypedStorage, misaligned
  expected.safetensors  for each good file "<stem>/<state dict key>": what torch.load returned; the
                        metadata maps each stem to its state dict keys in file order
  bad_*.pth             malicious and corrupt variants (see BAD below for the error each must give)
Into tests/fuzz/corpus/<target>/: a few tiny valid inputs per fuzzer.
"""
import argparse
import collections
import io
import os
import pickle
import struct
import zipfile

import timm
import torch
from safetensors.torch import save_file
from torch_tar_format import py2_dumps, tar_state_dict, write_tar_py2, write_tar_py3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def tiny_vit_state_dict(seed=0):
    torch.manual_seed(seed)
    model = timm.models.vision_transformer.VisionTransformer(
        img_size=8, patch_size=4, embed_dim=8, depth=2, num_heads=2, mlp_ratio=2, num_classes=5)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    return model.state_dict()  # an OrderedDict with _metadata, as real checkpoints have


def path(name):
    return os.path.join(OUT, name)


def tiny_resnet_state_dict(seed=1):
    torch.manual_seed(seed)
    sd = collections.OrderedDict()
    sd["conv1.weight"] = torch.randn(4, 3, 3, 3)
    for k in ("weight", "bias", "running_mean"):
        sd["bn1." + k] = torch.randn(4)
    sd["bn1.running_var"] = torch.rand(4) + 0.5
    sd["fc.weight"] = torch.randn(3, 4)
    sd["fc.bias"] = torch.randn(3)
    return sd


# ---- shared storages, views, dtypes ----------------------------------------------------------------

def views_object():
    torch.manual_seed(2)
    base = torch.randn(24)
    weight = torch.randn(3, 5)
    odd = torch.randn(8).as_strided((1, 1, 8), (100, 3, 1))  # size-1 dims with arbitrary strides (cls_token)
    sd = collections.OrderedDict()
    sd["rows"] = base[2:14].view(3, 4)                 # contiguous view at offset 2
    sd["window"] = base.view(4, 6)[:, 1:5]             # non-contiguous: stride (6, 1), offset 1
    sd["every_third"] = base[::3]                      # stride 3
    sd["weight"] = weight
    sd["weight_t"] = weight.t()                         # transpose sharing weight's storage
    sd["odd_strides"] = odd
    sd["half"] = torch.randn(2, 3).half()
    sd["bf16"] = torch.randn(5).bfloat16()
    sd["double"] = torch.randn(2, 2, dtype=torch.float64)
    sd["long"] = torch.arange(-3, 3, dtype=torch.int64).view(2, 3)
    sd["num_batches_tracked"] = torch.tensor(12345, dtype=torch.int64)  # 0-d
    sd["mask"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 4)
    sd["param"] = torch.nn.Parameter(torch.randn(2))   # _rebuild_parameter
    return {"state_dict": sd, "step": 7}


# ---- zip variants other tools write ------------------------------------------------------------------

def rezip_deflated(src, dst):
    """The same records, deflated (torch never compresses; other tools may)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, zin.read(info.filename))


def rezip_zip64(src, dst):
    """The same archive with every central-directory size and offset moved into ZIP64 extra fields and a
    saturated classic end record, as writers do for archives over 4 GiB (APPNOTE 4.3.14-4.3.16, 4.5.3)."""
    data = open(src, "rb").read()
    with zipfile.ZipFile(src) as z:
        infos = z.infolist()
        cd_offset = z.start_dir  # everything before the central directory is local headers and data
    out = bytearray(data[:cd_offset])
    for i in infos:
        name = i.filename.encode()
        extra = struct.pack("<HHQQQ", 1, 24, i.file_size, i.compress_size, i.header_offset)
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, i.flag_bits, i.compress_type, 0, 0, i.CRC,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
    cd_size = len(out) - cd_offset
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(infos), len(infos), cd_size, cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(bytes(out))


# ---- bad files -------------------------------------------------------------------------------------

def zip_with(file_name, records):
    with zipfile.ZipFile(file_name, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in records:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)  # fixed time: same bytes each run


def single_tensor_pickle(numel_in_pid, key="0", storage_global=b"ctorch\nFloatStorage\n"):
    """data.pkl of {'w': tensor (2, 3)} with a hand-set storage numel and key."""
    k = key.encode()
    return (b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storage"
            b"q\x03" + storage_global + b"q\x04X" + struct.pack("<I", len(k)) + k + b"q\x05X\x03\x00\x00\x00cpuq\x06K" +
            bytes([numel_in_pid]) + b"tq\x07QK\x00K\x02K\x03\x86K\x03K\x01\x86\x89ccollections\nOrderedDict\n)Rtq\x08Rq\x09s.")


def v3_pickle():
    """data.pkl of {'w': _rebuild_tensor_v3(UntypedStorage of 16 bytes, offset 1, (3,), (1,), dtype=float32)}:
    a float tensor over raw bytes, the form torch uses for dtypes without a typed storage class."""
    return (b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v3\nq\x02((X\x07\x00\x00\x00storage"
            b"q\x03ctorch.storage\nUntypedStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x10tq\x07Q"
            b"K\x01K\x03\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rctorch\nfloat32\ntq\x08Rq\x09s.")


def evil_pickle(module, name):
    return (b"\x80\x02}q\x00X\x01\x00\x00\x00xq\x01c" + module + b"\n" + name + b"\n" +
            b"X\x0a\x00\x00\x00echo pwnedq\x02\x85Rq\x03s.")


def write_bad_files(good_zip, good_legacy, good_tar):
    bad = {}
    data = open(good_zip, "rb").read()
    with open(path("bad_truncated_zip.pth"), "wb") as f:
        f.write(data[: len(data) // 2])
    legacy = open(good_legacy, "rb").read()
    with open(path("bad_truncated_legacy.pth"), "wb") as f:
        f.write(legacy[:-100])
    tar = open(good_tar, "rb").read()
    with open(path("bad_truncated_tar.pth"), "wb") as f:
        f.write(tar[:2048 + 200])
    magic = b"\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
    assert legacy[4:14] == magic
    with open(path("bad_magic.pth"), "wb") as f:
        f.write(legacy[:4] + b"\x6d" + legacy[5:])
    floats = struct.pack("<6f", *range(6))
    zip_with(path("bad_os_system.pth"), [("bad/data.pkl", evil_pickle(b"os", b"system")), ("bad/byteorder", b"little")])
    zip_with(path("bad_eval.pth"), [("bad/data.pkl", evil_pickle(b"__builtin__", b"eval"))])
    zip_with(path("bad_short_storage.pth"), [("bad/data.pkl", single_tensor_pickle(4)), ("bad/data/0", floats[:16])])
    zip_with(path("bad_short_record.pth"), [("bad/data.pkl", single_tensor_pickle(6)), ("bad/data/0", floats[:16])])
    zip_with(path("bad_missing_member.pth"), [("bad/data.pkl", single_tensor_pickle(6, key="1")),
                                               ("bad/data/0", floats)])
    zip_with(path("bad_storage_type.pth"), [("bad/data.pkl", single_tensor_pickle(6, storage_global=b"ctorch\nShortStorage\n")),
                                             ("bad/data/0", floats)])
    zip_with(path("bad_unknown_storage.pth"), [("bad/data.pkl", single_tensor_pickle(6, storage_global=b"ctorch\nFooStorage\n")),
                                                ("bad/data/0", floats)])
    zip_with(path("bad_big_endian.pth"), [("bad/data.pkl", single_tensor_pickle(6)), ("bad/byteorder", b"big"),
                                           ("bad/data/0", floats)])
    good_single = path("bad_crc.pth")
    zip_with(good_single, [("bad/data.pkl", single_tensor_pickle(6)), ("bad/data/0", floats)])
    raw = bytearray(open(good_single, "rb").read())
    raw[raw.index(floats) + 5] ^= 0x40
    with open(good_single, "wb") as f:
        f.write(bytes(raw))
    torch.save({"w": torch.zeros(1).expand(1000)}, path("bad_expanded.pth"))
    # Two directory entries naming one local record (the overlapping-member zip bomb).
    zip_with(path("bad_overlap.pth"), [("bad/data.pkl", single_tensor_pickle(6)), ("bad/data/0", floats)])
    raw = bytearray(open(path("bad_overlap.pth"), "rb").read())
    with zipfile.ZipFile(path("bad_overlap.pth")) as z:
        start = z.start_dir
        second = z.infolist()[1]
    entry_at = raw.index(b"PK\x01\x02", start + 1)  # the central entry of bad/data/0
    entry = bytes(raw[entry_at:entry_at + 46 + len(second.filename)])
    duplicate = entry[:46] + b"bad/data/1"
    end = raw.index(b"PK\x05\x06", start)
    raw[end:end] = duplicate
    end += len(duplicate)
    count, cd_size = struct.unpack_from("<HI", raw, end + 10)
    struct.pack_into("<HHI", raw, end + 8, count + 1, count + 1, cd_size + len(duplicate))
    with open(path("bad_overlap.pth"), "wb") as f:
        f.write(bytes(raw))
    torch.save({"w": torch.zeros(3, dtype=torch.uint16)}, path("bad_uint16.pth"))
    with open(path("bad_not_a_checkpoint.pth"), "wb") as f:
        f.write(b"hello, world\n")
    return bad


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    def record(stem, sd):
        for k, v in sd.items():
            expected[f"{stem}/{k}"] = v.detach().contiguous().clone()

    def unwrap(obj):
        for key in ("model", "state_dict", "module"):
            if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
                return unwrap(obj[key])
        return obj

    # (a) zip, DeiT-style wrapper
    sd = tiny_vit_state_dict(0)
    torch.save({"model": sd}, path("vit_zip.pth"))

    # (b) legacy stream, SAT-style wrapper, storages tagged cuda:0
    sat = collections.OrderedDict(("module." + k, v) for k, v in tiny_vit_state_dict(3).items())
    sat._metadata = sd._metadata
    real_location_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save({"model": sat, "best_thr": 0.4, "epoch": 30,
                    "args": argparse.Namespace(lr=1e-4, arch="deit_sat_small_patch16_224", threshold=[0.3, 0.35])},
                   path("sat_legacy.pth"), _use_new_zipfile_serialization=False)
    finally:
        torch.serialization.location_tag = real_location_tag

    # (c) tar, Python 3 pickles (with a storage view) and Python 2 pickles
    plan, obj = tar_state_dict(tiny_vit_state_dict(4), 94_000_000_000_000, view_of=("norm.bias", "blocks.0.mlp.fc1.weight"))
    write_tar_py3(path("vit_tar.pth"), plan, obj)
    plan, obj = tar_state_dict(tiny_resnet_state_dict(), 140_000_000_000_000)
    write_tar_py2(path("resnet_tar_py2.pth"), plan, obj)

    # (d) shared storages and dtypes, in both pickle containers
    torch.save(views_object(), path("views_zip.pth"))
    torch.save(views_object(), path("views_legacy.pth"), _use_new_zipfile_serialization=False)
    rezip_deflated(path("views_zip.pth"), path("views_deflated.pth"))
    # A zip written by Python's zipfile: records not aligned, so the float view over raw bytes is not either.
    zip_with(path("v3_untyped.pth"), [("v3/data.pkl", v3_pickle()), ("v3/version", b"3\n"),
                                       ("v3/data/0", struct.pack("<4f", 1.5, -2.0, 3.25, 8.0))])
    rezip_zip64(path("views_zip.pth"), path("views_zip64.pth"))

    # The oracle: what torch.load reads from each file.
    order = {}
    for stem in ("vit_zip", "sat_legacy", "vit_tar", "resnet_tar_py2", "views_zip", "views_legacy", "views_deflated",
                 "views_zip64", "v3_untyped"):
        obj = torch.load(path(stem + ".pth"), map_location="cpu", weights_only=False)
        sd = unwrap(obj)
        record(stem, sd)
        order[stem] = "\n".join(sd.keys())  # the state dict's order in the file
    save_file(expected, path("expected.safetensors"), metadata=order)

    write_bad_files(path("vit_zip.pth"), path("sat_legacy.pth"), path("vit_tar.pth"))
    write_pickles()
    write_corpora()

    total = 0
    for name in sorted(os.listdir(OUT)) + ["pickles/" + n for n in sorted(os.listdir(os.path.join(OUT, "pickles")))]:
        if os.path.isdir(path(name)):
            continue
        size = os.path.getsize(path(name))
        total += size
        print(f"wrote tests/fixtures/checkpoints/{name} ({size} bytes)")
    print(f"total {total / 1024:.1f} KiB")
    assert total < 512 * 1024, "checkpoint fixtures must stay small"


PICKLE_VALUES = {  # tests/engine/test_pickle.cpp checks these values
    "args": argparse.Namespace(lr=0.5, name="deit"),
    "bytes": b"\x00\xffA",
    "set": {3},
    "big": 2**70,
    "negative_big": -2**70,
    "int64_min": -2**63,
    "floats": [0.25, -1e-300, float("inf")],
    "tuple4": (1, 2, 3, 4),
    "unicode": "\u00fcn\u00efc\u00f6d\u00e9 \u2713",
    "nested": {"none": None, "true": True, "false": False, 7: "int key", (1, "a"): "tuple key"},
}


def write_pickles():
    """Plain pickles written by CPython's own pickler (the oracle for the interpreter's semantics)."""
    import numpy as np
    out = os.path.join(OUT, "pickles")
    os.makedirs(out, exist_ok=True)
    for protocol in (2, 4, 5):
        with open(os.path.join(out, f"values_p{protocol}.pkl"), "wb") as f:
            pickle.dump(PICKLE_VALUES, f, protocol=protocol)
    with open(os.path.join(out, "numpy_scalars.pkl"), "wb") as f:
        pickle.dump({"f8": np.float64(0.25), "i8": np.int64(-7), "f4": np.float32(1.5), "b": np.bool_(True)}, f,
                    protocol=2)
    shared = [1, 2]
    with open(os.path.join(out, "shared.pkl"), "wb") as f:
        pickle.dump({"a": shared, "b": shared}, f, protocol=2)


def write_corpora():
    """Seed inputs for the fuzzers: tiny valid files of each kind."""
    torch.manual_seed(5)
    small = collections.OrderedDict([("a", torch.randn(2, 3)), ("b", torch.arange(4))])
    small._metadata = collections.OrderedDict([("", {"version": 1})])
    for target in ("fuzz_pth", "fuzz_pickle", "fuzz_safetensors"):
        os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    pth = os.path.join(CORPUS, "fuzz_pth")
    torch.save({"model": small, "epoch": 1}, os.path.join(pth, "zip.pth"))
    torch.save({"model": small, "thr": 0.5}, os.path.join(pth, "legacy.pth"), _use_new_zipfile_serialization=False)
    plan, obj = tar_state_dict(collections.OrderedDict([("w", torch.randn(2, 2))]), 1 << 40)
    write_tar_py2(os.path.join(pth, "tar_py2.pth"), plan, obj)
    plan, obj = tar_state_dict(collections.OrderedDict([("w", torch.randn(6)), ("v", torch.randn(2))]), 1 << 41,
                               view_of=("v", "w"))
    write_tar_py3(os.path.join(pth, "tar_py3.pth"), plan, obj)
    for name in ("tar_py2.pth", "tar_py3.pth"):
        # Drop the end-of-archive zero blocks and record padding (the last member, storages, ends
        # with a pickle's STOP): smaller seeds, and the reader accepts an archive without them.
        seed = os.path.join(pth, name)
        data = open(seed, "rb").read().rstrip(b"\0")
        with open(seed, "wb") as f:
            f.write(data)
    pk = os.path.join(CORPUS, "fuzz_pickle")
    with zipfile.ZipFile(os.path.join(pth, "zip.pth")) as z:
        data_pkl = z.read("zip/data.pkl")
    with open(os.path.join(pk, "data.pkl"), "wb") as f:
        f.write(data_pkl)
    # fuzz_pth wraps inputs starting with "WZ" (a pickle -> a valid zip) and "WL" (the rest of a legacy
    # stream after its magic number, protocol version and sys_info pickles).
    with open(os.path.join(pth, "wrapped_zip.bin"), "wb") as f:
        f.write(b"WZ" + data_pkl)
    legacy = io.BytesIO(open(os.path.join(pth, "legacy.pth"), "rb").read())
    for _ in range(3):
        pickle.load(legacy)
    with open(os.path.join(pth, "wrapped_legacy.bin"), "wb") as f:
        f.write(b"WL" + legacy.read())
    for name in ("values_p2.pkl", "values_p4.pkl", "numpy_scalars.pkl"):
        with open(os.path.join(OUT, "pickles", name), "rb") as src, open(os.path.join(pk, name), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(pk, "py2.pkl"), "wb") as f:
        f.write(py2_dumps(collections.OrderedDict([("k", 2**40), ("v", "text")])))
    st = os.path.join(CORPUS, "fuzz_safetensors")
    save_file({"a": torch.randn(2, 3), "b": torch.arange(3), "c": torch.randn(2).half()}, os.path.join(st, "small.safetensors"),
              metadata={"format": "pt"})
    save_file({"s": torch.tensor(1.5), "e": torch.zeros(0, 3)}, os.path.join(st, "scalar.safetensors"))


if __name__ == "__main__":
    main()
