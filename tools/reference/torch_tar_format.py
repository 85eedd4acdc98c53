"""Writers for the tar checkpoint format of torch <= 0.1.9, which torch can no longer write (its
torch.load still reads it, which is how tools/reference/checkpoints.py checks these files).

Layout (torch 0.1.x serialization.py: _save with _add_to_tar; read by today's _legacy_load):
  sys_info  pickled dict
  pickle    the object; each tensor is a persistent id: the decimal string of its key
  tensors   pickled count; per tensor: pickled (key, storage_key, tensor class), then int32 ndim +
            4 padding bytes, ndim int64 sizes, ndim int64 strides, int64 storage offset
  storages  pickled count; per storage: pickled (key, location, storage class), int64 element
            count, the raw bytes; then a pickled list of views (view_key, root_key, offset, size)
Pickles come in two flavours: Python 3's own pickler, and Py2Pickler below, which emits the opcodes
Python 2.7 wrote (as in torchvision's resnet50-19c8e357.pth era files).
"""
import collections
import io
import pickle
import struct
import tarfile

import torch

STORAGE_CLASS = {torch.float32: torch.FloatStorage, torch.float64: torch.DoubleStorage,
                 torch.int64: torch.LongStorage}
TENSOR_CLASS = {torch.float32: torch.FloatTensor, torch.float64: torch.DoubleTensor, torch.int64: torch.LongTensor}


def tensor_metadata(size, stride, offset):
    ndim = len(size)
    return (struct.pack("<i", ndim) + b"\0" * 4 + struct.pack(f"<{ndim}q", *size) +
            struct.pack(f"<{ndim}q", *stride) + struct.pack("<q", offset))


class TarPlan:
    """Tensors of an old-style checkpoint: keys are fake _cdata pointers, as torch 0.1 used."""

    def __init__(self, first_key):
        self.next_key = first_key
        self.storages = []  # (key, storage tensor (1-D, contiguous), dtype)
        self.views = []     # (view_key, root_key, offset, size)
        self.tensors = []   # (key, storage_key, dtype, size, stride, offset)

    def key(self):
        self.next_key += 4096
        return self.next_key

    def add_storage(self, flat):
        k = self.key()
        self.storages.append((k, flat.contiguous(), flat.dtype))
        return k

    def add_tensor(self, storage_key, dtype, size, stride, offset):
        k = self.key()
        self.tensors.append((k, storage_key, dtype, tuple(size), tuple(stride), offset))
        return k


def write_tar(file_name, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1500000000
            tar.addfile(info, io.BytesIO(data))
    with open(file_name, "wb") as f:
        f.write(buf.getvalue())


def py3_dumps(obj, persistent_id=None):
    f = io.BytesIO()
    p = pickle.Pickler(f, protocol=2)
    if persistent_id:
        p.persistent_id = persistent_id
    p.dump(obj)
    return f.getvalue()


def write_tar_py3(file_name, plan, obj):
    """Python 3 pickles. In `obj`, tensors are stand-ins TensorRef(key)."""
    sys_info = py3_dumps({"protocol_version": 1000, "little_endian": True,
                          "type_sizes": {"short": 2, "int": 4, "long": 8}})
    obj_pickle = py3_dumps(obj, lambda o: str(o.key) if isinstance(o, TensorRef) else None)
    tensors = py3_dumps(len(plan.tensors))
    for k, sk, dtype, size, stride, offset in plan.tensors:
        tensors += py3_dumps((k, sk, TENSOR_CLASS[dtype]))
        tensors += tensor_metadata(size, stride, offset)
    storages = py3_dumps(len(plan.storages))
    for k, flat, dtype in plan.storages:
        storages += py3_dumps((k, "cpu", STORAGE_CLASS[dtype]))
        storages += struct.pack("<q", flat.numel()) + flat.numpy().tobytes()
    storages += py3_dumps(plan.views)
    write_tar(file_name, [("sys_info", sys_info), ("pickle", obj_pickle), ("tensors", tensors), ("storages", storages)])


class TensorRef:
    def __init__(self, key):
        self.key = key


class Py2Pickler:
    """Emits protocol-2 pickles the way Python 2.7 wrote them: str as SHORT_BINSTRING, ints beyond 32
    bits as text INT lines, OrderedDict reduced with a list of [key, value] pairs, memoized globals."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = {}  # (module, name) -> memo index of that global
        self.next_index = 0

    def put(self):
        n = self.next_index
        self.next_index += 1
        self.out += b"q" + bytes([n]) if n < 256 else b"r" + struct.pack("<I", n)
        return n

    def get(self, n):
        self.out += b"h" + bytes([n]) if n < 256 else b"j" + struct.pack("<I", n)

    def string(self, s):
        b = s.encode("ascii")
        self.out += (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<i", len(b))) + b
        self.put()

    def integer(self, i):
        if 0 <= i < 256:
            self.out += b"K" + bytes([i])
        elif 0 <= i < 65536:
            self.out += b"M" + struct.pack("<H", i)
        elif -2**31 <= i < 2**31:
            self.out += b"J" + struct.pack("<i", i)
        else:
            self.out += b"I" + str(i).encode() + b"\n"

    def global_(self, module, name):
        if (module, name) in self.memo:
            self.get(self.memo[(module, name)])
            return
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.memo[(module, name)] = self.put()

    def value(self, v):
        if isinstance(v, bool):
            self.out += b"\x88" if v else b"\x89"
        elif isinstance(v, int):
            self.integer(v)
        elif isinstance(v, str):
            self.string(v)
        elif isinstance(v, TensorRef):
            self.string(str(v.key))
            self.out += b"Q"  # BINPERSID
        elif isinstance(v, tuple):
            if 1 <= len(v) <= 3:
                for x in v:
                    self.value(x)
                self.out += bytes([0x84 + len(v)])
            else:
                self.out += b"("
                for x in v:
                    self.value(x)
                self.out += b"t"
            self.put()
        elif isinstance(v, type):
            self.global_(v.__module__, v.__name__)
        elif isinstance(v, collections.OrderedDict):
            self.global_("collections", "OrderedDict")
            self.out += b"]"
            self.put()
            self.out += b"("
            for k, x in v.items():
                self.out += b"]"
                self.put()
                self.out += b"("
                self.value(k)
                self.value(x)
                self.out += b"e"
            self.out += b"e\x85R"  # APPENDS, TUPLE1, REDUCE
            self.put()
        elif isinstance(v, dict):
            self.out += b"}"
            self.put()
            self.out += b"("
            for k, x in v.items():
                self.value(k)
                self.value(x)
            self.out += b"u"
        elif isinstance(v, list):
            self.out += b"]"
            self.put()
            if v:
                self.out += b"("
                for x in v:
                    self.value(x)
                self.out += b"e"
        else:
            raise TypeError(type(v))

    def dumps(self, v):
        self.value(v)
        self.out += b"."
        return bytes(self.out)


def py2_dumps(v):
    return Py2Pickler().dumps(v)


def write_tar_py2(file_name, plan, obj):
    sys_info = py2_dumps({"protocol_version": 1000, "little_endian": True,
                          "type_sizes": {"short": 2, "int": 4, "long": 8}})
    tensors = py2_dumps(len(plan.tensors))
    for k, sk, dtype, size, stride, offset in plan.tensors:
        tensors += py2_dumps((k, sk, TENSOR_CLASS[dtype]))
        tensors += tensor_metadata(size, stride, offset)
    storages = py2_dumps(len(plan.storages))
    for k, flat, dtype in plan.storages:
        storages += py2_dumps((k, "cpu", STORAGE_CLASS[dtype]))
        storages += struct.pack("<q", flat.numel()) + flat.numpy().tobytes()
    storages += py2_dumps(list(plan.views))
    write_tar(file_name, [("sys_info", sys_info), ("pickle", py2_dumps(obj)), ("tensors", tensors),
                          ("storages", storages)])


def tar_state_dict(sd, first_key, view_of=None):
    """One storage per tensor, as torch 0.1 had; `view_of` = (name, root name): that tensor's storage
    becomes a storage view into the root tensor's storage (elements 2.. of it)."""
    plan = TarPlan(first_key)
    obj = collections.OrderedDict()
    keys = {}
    for name, t in sd.items():
        if view_of and name == view_of[0]:
            continue
        sk = plan.add_storage(t.reshape(-1))
        keys[name] = sk
        obj[name] = TensorRef(plan.add_tensor(sk, t.dtype, t.shape, t.stride(), 0))
    if view_of:
        name, root = view_of
        t = sd[name]
        vk = plan.key()
        plan.views.append((vk, keys[root], 2, t.numel()))
        obj[name] = TensorRef(plan.add_tensor(vk, t.dtype, t.shape, t.stride(), 0))
    return plan, obj
