"""Writes the .npy files that tests/engine/test_npy.cpp reads: arrays saved by real numpy.

Every array is filled from its C-order flat index k with a formula the C++ test repeats:
    float:  k * 0.25 - 1.5        int: k * 3 - 7        uint8: (k * 37) % 256        bool: k % 3 == 0
so the test checks values without a second copy of the data. Some files must be rejected by the
reader (big-endian, object, structured, int8, complex); they are listed in REJECTED.

Usage (development machine only; numpy from /opt/refenv):
    /opt/refenv/bin/python tools/reference/eval_npy_fixtures.py
"""
import io
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "eval", "npy")


def filled(shape, dtype):
    k = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    kind = np.dtype(dtype).kind
    if kind == "f":
        return (k * 0.25 - 1.5).astype(dtype)
    if kind == "b":
        return k % 3 == 0
    if np.dtype(dtype) == np.uint8:
        return ((k * 37) % 256).astype(np.uint8)
    return (k * 3 - 7).astype(dtype)


def write(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array, allow_pickle=array.dtype.hasobject)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("f32_2x3.npy", filled((2, 3), np.float32))
    write("f64_4.npy", filled((4,), np.float64))
    write("f16_3x2.npy", filled((3, 2), np.float16))
    write("i32_2x2x2.npy", filled((2, 2, 2), np.int32))
    write("i64_5.npy", filled((5,), np.int64))
    write("u8_3x5.npy", filled((3, 5), np.uint8))
    write("bool_7.npy", filled((7,), np.bool_))
    write("f64_scalar.npy", np.float64(2.5) * np.ones(()))
    write("f32_empty_0x3.npy", np.zeros((0, 3), np.float32))
    # Fortran order: the same logical values as C order, stored column-major.
    write("f64_fortran_3x4x2.npy", np.asfortranarray(filled((3, 4, 2), np.float64)))
    write("u8_fortran_2x3.npy", np.asfortranarray(filled((2, 3), np.uint8)))
    write("f32_v2_2x3.npy", filled((2, 3), np.float32), version=(2, 0))
    write("f32_v3_2x3.npy", filled((2, 3), np.float32), version=(3, 0))
    # Rejected by the reader.
    write("reject_f4_bigendian.npy", filled((2, 3), np.float32).astype(">f4"))
    write("reject_object.npy", np.array([1, "a", None], dtype=object))
    write("reject_structured.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    write("reject_int8.npy", filled((4,), np.int8))
    write("reject_complex.npy", np.zeros(2, np.complex64))


if __name__ == "__main__":
    main()
