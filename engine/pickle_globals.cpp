// The allow-list of the strict unpickler: which globals a checkpoint may name, and what calling
// them means as data. Nothing is ever executed; a global outside this list is an error.
//
// The list is what torch.save and common training scripts put into checkpoints (torch's own
// weights_only unpickler allows a similar set, torch/_weights_only_unpickler.py), minus anything
// wsol has no use for (quantized and sparse tensors, nested tensors, tensor subclasses' state).
#include <cstring>

#include "engine/pickle.h"
#include "engine/pickle_internal.h"

namespace wsol {

using pickle_detail::Tracker;

namespace {

struct TypeEntry {
    const char* name;       // class name without the module, "FloatStorage"
    const char* torch_dtype;
    int supported;          // 1 when wsol has the dtype below
    DType dtype;
};

// torch.<X>Storage (also torch.cuda.<X>Storage in old files): element type of the storage.
const TypeEntry kStorageTypes[] = {
    {"FloatStorage", "float32", 1, kFloat32},       {"DoubleStorage", "float64", 1, kFloat64},
    {"HalfStorage", "float16", 1, kFloat16},        {"BFloat16Storage", "bfloat16", 1, kBFloat16},
    {"LongStorage", "int64", 1, kInt64},            {"IntStorage", "int32", 1, kInt32},
    {"ByteStorage", "uint8", 1, kUInt8},            {"BoolStorage", "bool", 1, kBool},
    {"UntypedStorage", "uint8 bytes", 1, kUInt8},   {"ShortStorage", "int16", 0, kUInt8},
    {"CharStorage", "int8", 0, kUInt8},             {"ComplexFloatStorage", "complex64", 0, kUInt8},
    {"ComplexDoubleStorage", "complex128", 0, kUInt8}, {"QInt8Storage", "qint8", 0, kUInt8},
    {"QUInt8Storage", "quint8", 0, kUInt8},         {"QInt32Storage", "qint32", 0, kUInt8},
    {"QUInt4x2Storage", "quint4x2", 0, kUInt8},     {"QUInt2x4Storage", "quint2x4", 0, kUInt8},
};

// torch.<X>Tensor classes, named in the tensor table of the old tar format.
const TypeEntry kTensorTypes[] = {
    {"FloatTensor", "float32", 1, kFloat32}, {"DoubleTensor", "float64", 1, kFloat64},
    {"HalfTensor", "float16", 1, kFloat16},  {"BFloat16Tensor", "bfloat16", 1, kBFloat16},
    {"LongTensor", "int64", 1, kInt64},      {"IntTensor", "int32", 1, kInt32},
    {"ByteTensor", "uint8", 1, kUInt8},      {"BoolTensor", "bool", 1, kBool},
    {"ShortTensor", "int16", 0, kUInt8},     {"CharTensor", "int8", 0, kUInt8},
};

// torch.<dtype> globals (torch.dtype pickles as its name), for _rebuild_tensor_v3 and metadata.
const TypeEntry kDtypes[] = {
    {"float32", "float32", 1, kFloat32}, {"float64", "float64", 1, kFloat64}, {"float16", "float16", 1, kFloat16},
    {"bfloat16", "bfloat16", 1, kBFloat16}, {"int64", "int64", 1, kInt64},   {"int32", "int32", 1, kInt32},
    {"uint8", "uint8", 1, kUInt8},       {"bool", "bool", 1, kBool},         {"int16", "int16", 0, kUInt8},
    {"int8", "int8", 0, kUInt8},         {"complex64", "complex64", 0, kUInt8},
    {"complex128", "complex128", 0, kUInt8}, {"uint16", "uint16", 0, kUInt8}, {"uint32", "uint32", 0, kUInt8},
    {"uint64", "uint64", 0, kUInt8},     {"float8_e4m3fn", "float8_e4m3fn", 0, kUInt8},
    {"float8_e5m2", "float8_e5m2", 0, kUInt8},
};

template <size_t N>
const TypeEntry* find_type(const TypeEntry (&table)[N], std::string_view name) {
    for (const TypeEntry& e : table) {
        if (name == e.name) return &e;
    }
    return nullptr;
}

// Splits "torch.cuda.FloatStorage" into its module and class name.
std::pair<std::string_view, std::string_view> split_global(const std::string& full) {
    const size_t dot = full.rfind('.');
    if (dot == std::string::npos) return {{}, full};
    return {std::string_view(full).substr(0, dot), std::string_view(full).substr(dot + 1)};
}

// Callables and classes allowed by their full name.
const char* const kAllowedByName[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
    "torch.Size",
    "torch.device",
    "torch.Tensor",
    "torch.nn.parameter.Parameter",
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "_codecs.encode",
    "numpy.core.multiarray.scalar",
    "numpy.dtype",
    "argparse.Namespace",
};

// Classes whose instances are kept as opaque objects (arguments + BUILD state).
bool is_opaque_class(const std::string& name) { return name == "argparse.Namespace" || name == "numpy.dtype"; }

const PyList& expect_args(const PyValue& args, size_t min, size_t max, const std::string& what) {
    const PyList& a = args.as_sequence();
    WSOL_CHECK(a.size() >= min && a.size() <= max, what, " takes ", min == max ? "" : "between ", min,
               min == max ? "" : " and ", min == max ? "" : std::to_string(max), " arguments, got ", a.size());
    return a;
}

Shape int_tuple(const PyValue& v, const char* what, const std::string& fn) {
    WSOL_CHECK(v.is_sequence(), fn, ": ", what, " must be a tuple of ints, got ", v.type_name());
    const PyList& items = v.as_sequence();
    WSOL_CHECK(items.size() <= 64, fn, ": ", what, " has ", items.size(), " dimensions (at most 64)");
    Shape out;
    for (const PyValue& item : items) {
        WSOL_CHECK(item.is(PyValue::Kind::Int), fn, ": ", what, " must hold ints, got ", item.type_name());
        WSOL_CHECK(item.as_int() >= 0, fn, ": negative ", what, " entry ", item.as_int());
        out.push_back(item.as_int());
    }
    return out;
}

// _rebuild_tensor(storage, offset, size, stride): only the description; the container reader
// checks it against the storage and makes the tensor once the bytes are known.
PyValue rebuild_tensor(const PyList& a, const std::string& fn, const PyValue* dtype_global) {
    WSOL_CHECK(a[0].is(PyValue::Kind::Storage), fn, ": the first argument must be a storage (a persistent id), got ",
               a[0].type_name());
    auto t = std::make_shared<PyTensor>();
    t->storage = a[0].as_storage();
    t->dtype = t->storage->dtype;
    if (dtype_global) {
        WSOL_CHECK(dtype_global->is(PyValue::Kind::Global), fn, ": dtype must be a torch dtype");
        auto [module, name] = split_global(dtype_global->as_string());
        const TypeEntry* e = module == "torch" ? find_type(kDtypes, name) : nullptr;
        WSOL_CHECK(e != nullptr, fn, ": unknown dtype ", dtype_global->as_string());
        WSOL_CHECK(e->supported, fn, ": tensor of dtype torch.", name, ", which wsol does not support");
        t->dtype = e->dtype;
    }
    WSOL_CHECK(a[1].is(PyValue::Kind::Int) && a[1].as_int() >= 0, fn, ": storage offset must be a non-negative int");
    t->offset = a[1].as_int();
    t->shape = int_tuple(a[2], "size", fn);
    t->strides = int_tuple(a[3], "stride", fn);
    WSOL_CHECK(t->shape.size() == t->strides.size(), fn, ": size ", shape_str(t->shape), " and stride ",
               shape_str(t->strides), " have different lengths");
    return PyValue::tensor(std::move(t));
}

// The optional metadata dict of _rebuild_tensor_v2/v3 holds the conj and neg bits: a tensor with
// either set would need arithmetic on load, which a checkpoint of weights never has.
void check_tensor_metadata(const PyValue& metadata, const std::string& fn) {
    if (metadata.is_none()) return;
    WSOL_CHECK(metadata.is(PyValue::Kind::Dict), fn, ": metadata must be a dict");
    for (const auto& [key, value] : metadata.as_dict().items) {
        WSOL_CHECK(!(value.is(PyValue::Kind::Bool) && value.as_bool()), fn, ": tensor carries metadata ", key.repr(40),
                   "=True (conjugate/negative bit), which wsol does not support");
    }
}

// numpy.core.multiarray.scalar(dtype, bytes): a numpy scalar (e.g. an accuracy saved as
// np.float64). Decoded to a plain number for the common dtypes; anything else stays opaque.
PyValue numpy_scalar(const PyList& a, const Tracker& track) {
    std::string descr, order = "<";
    if (a.size() == 2 && a[0].is(PyValue::Kind::Object) && a[0].as_object()->type == "numpy.dtype") {
        const PyObject& dt = *a[0].as_object();
        if (dt.args.is_sequence() && !dt.args.as_sequence().empty() && dt.args.as_sequence()[0].is(PyValue::Kind::String)) {
            descr = dt.args.as_sequence()[0].as_string();
        }
        if (dt.state.is(PyValue::Kind::Tuple) && dt.state.as_sequence().size() > 1 &&
            dt.state.as_sequence()[1].is(PyValue::Kind::String)) {
            order = dt.state.as_sequence()[1].as_string();
        }
    }
    if (a.size() == 2 && a[1].is(PyValue::Kind::Bytes) && (order == "<" || order == "|" || order == "=")) {
        const std::string& b = a[1].as_string();
        auto le = [&](size_t n) {
            uint64_t u = 0;
            for (size_t i = n; i-- > 0;) u = (u << 8) | uint8_t(b[i]);
            return u;
        };
        if (descr == "f8" && b.size() == 8) {
            double d;
            const uint64_t u = le(8);
            std::memcpy(&d, &u, 8);
            return PyValue::floating(d);
        }
        if (descr == "f4" && b.size() == 4) {
            float f;
            const uint32_t u = uint32_t(le(4));
            std::memcpy(&f, &u, 4);
            return PyValue::floating(f);
        }
        if (descr == "i8" && b.size() == 8) return PyValue::integer(int64_t(le(8)));
        if (descr == "i4" && b.size() == 4) return PyValue::integer(int32_t(uint32_t(le(4))));
        if (descr == "b1" && b.size() == 1) return PyValue::boolean(b[0] != 0);
    }
    auto o = std::make_shared<PyObject>();
    o->type = "numpy.scalar";
    o->args = track(PyValue::tuple(a));
    return track(PyValue::object(std::move(o)));
}

// _codecs.encode(text, 'latin1'): how protocol 2 pickles Python 3 bytes.
PyValue codecs_encode(const PyList& a) {
    WSOL_CHECK(a.size() == 2 && a[0].is(PyValue::Kind::String) && a[1].is(PyValue::Kind::String),
               "_codecs.encode takes (str, encoding)");
    const std::string& enc = a[1].as_string();
    WSOL_CHECK(enc == "latin1" || enc == "latin-1", "_codecs.encode: only latin1 is allowed, got '", enc, "'");
    const std::string& s = a[0].as_string();  // valid UTF-8 (checked when read)
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        const uint8_t c = uint8_t(s[i]);
        if (c < 0x80) {
            out += char(c);
        } else {
            WSOL_CHECK((c == 0xc2 || c == 0xc3) && i + 1 < s.size(), "_codecs.encode: character beyond latin1");
            out += char(((c & 0x03) << 6) | (uint8_t(s[++i]) & 0x3f));
        }
    }
    return PyValue::bytes(std::move(out));
}

}  // namespace

namespace pickle_detail {

PyValue allowed_global(const std::string& module_in, const std::string& name) {
    // Python 3 writes some modules under their Python 2 names at protocol 2; numpy 2 renamed core.
    std::string module = module_in;
    if (module == "__builtin__") module = "builtins";
    if (module == "numpy._core.multiarray") module = "numpy.core.multiarray";
    const std::string full = module + "." + name;
    for (const char* allowed : kAllowedByName) {
        if (full == allowed) return PyValue::global(full);
    }
    const bool torch_module = module == "torch" || module == "torch.cuda";
    if ((torch_module || module == "torch.storage") && find_type(kStorageTypes, name)) return PyValue::global(full);
    if (torch_module && find_type(kTensorTypes, name)) return PyValue::global(full);
    if (module == "torch" && find_type(kDtypes, name)) return PyValue::global(full);
    WSOL_FAIL("global '", module_in, ".", name, "' is not allowed: a checkpoint may only name the tensor-rebuilding ",
              "functions and plain data classes torch.save uses (anything else could run code)");
}

PyValue call_global(const PyValue& callable, const PyValue& args, const Tracker& track) {
    WSOL_CHECK(callable.is(PyValue::Kind::Global), "REDUCE calls a ", callable.type_name(),
               "; only allow-listed globals can be called");
    const std::string& fn = callable.as_string();
    if (fn == "collections.OrderedDict") {
        const PyList& a = expect_args(args, 0, 1, fn);
        PyValue d = track(PyValue::dict());
        if (a.empty()) return d;
        // Python 2 form: OrderedDict([[key, value], ...]).
        WSOL_CHECK(a[0].is_sequence(), fn, ": items must be a list of pairs");
        for (const PyValue& pair : a[0].as_sequence()) {
            WSOL_CHECK(pair.is_sequence() && pair.as_sequence().size() == 2, fn, ": each item must be a [key, value] pair");
            d.mutable_dict().set(pair.as_sequence()[0], pair.as_sequence()[1]);
        }
        return d;
    }
    if (fn == "torch._utils._rebuild_tensor") return rebuild_tensor(expect_args(args, 4, 4, fn), fn, nullptr);
    if (fn == "torch._utils._rebuild_tensor_v2") {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        const PyList& a = expect_args(args, 6, 7, fn);
        if (a.size() == 7) check_tensor_metadata(a[6], fn);
        return rebuild_tensor(a, fn, nullptr);
    }
    if (fn == "torch._utils._rebuild_tensor_v3") {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
        const PyList& a = expect_args(args, 7, 8, fn);
        if (a.size() == 8) check_tensor_metadata(a[7], fn);
        return rebuild_tensor(a, fn, &a[6]);
    }
    if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
        // (data, requires_grad, backward_hooks[, state]): a saved nn.Parameter is its data.
        const PyList& a = fn.back() == 'r' ? expect_args(args, 3, 3, fn) : expect_args(args, 4, 4, fn);
        WSOL_CHECK(a[0].is(PyValue::Kind::Tensor), fn, ": data must be a tensor, got ", a[0].type_name());
        return a[0];
    }
    if (fn == "torch._tensor._rebuild_from_type_v2") {
        // (func, type, args, state): a tensor subclass or a tensor with attributes; keep the tensor.
        const PyList& a = expect_args(args, 4, 4, fn);
        WSOL_CHECK(a[0].is(PyValue::Kind::Global) && a[0].as_string().rfind("torch._utils._rebuild_", 0) == 0, fn,
                   ": the inner function must be a torch._utils rebuild function");
        WSOL_CHECK(a[2].is(PyValue::Kind::Tuple), fn, ": inner arguments must be a tuple");
        return call_global(a[0], a[2], track);
    }
    if (fn == "torch.Size") {
        const PyList& a = expect_args(args, 0, 1, fn);
        if (a.empty()) return track(PyValue::tuple());
        int_tuple(a[0], "size", fn);
        return track(PyValue::tuple(a[0].as_sequence()));
    }
    if (fn == "torch.device") {
        // torch.device('cuda', 0) or torch.device('cpu'): kept as its string form.
        const PyList& a = expect_args(args, 1, 2, fn);
        WSOL_CHECK(a[0].is(PyValue::Kind::String), fn, ": device type must be a str");
        std::string text = a[0].as_string();
        if (a.size() == 2 && a[1].is(PyValue::Kind::Int)) text += ":" + std::to_string(a[1].as_int());
        return PyValue::string(text);
    }
    if (fn == "builtins.set" || fn == "builtins.frozenset") {
        const PyList& a = expect_args(args, 0, 1, fn);
        PyList items;
        if (!a.empty()) {
            WSOL_CHECK(a[0].is_sequence(), fn, ": items must be a list");
            items = a[0].as_sequence();
        }
        return track(fn == "builtins.set" ? PyValue::list(std::move(items)) : PyValue::tuple(std::move(items)));
    }
    if (fn == "builtins.bytearray") {
        const PyList& a = expect_args(args, 0, 1, fn);
        if (a.empty()) return PyValue::bytes("");
        WSOL_CHECK(a[0].is(PyValue::Kind::Bytes), fn, ": argument must be bytes");
        return a[0];
    }
    if (fn == "_codecs.encode") return codecs_encode(args.as_sequence());
    if (fn == "numpy.core.multiarray.scalar") return numpy_scalar(args.as_sequence(), track);
    if (is_opaque_class(fn)) return new_object(callable, args, track);
    WSOL_FAIL("global ", fn, " cannot be called");
}

PyValue new_object(const PyValue& cls, const PyValue& args, const Tracker& track) {
    WSOL_CHECK(cls.is(PyValue::Kind::Global), "NEWOBJ on a ", cls.type_name(), "; only allow-listed classes");
    const std::string& name = cls.as_string();
    if (name == "collections.OrderedDict") return track(PyValue::dict());
    WSOL_CHECK(is_opaque_class(name), "global ", name, " is not a class that can be instantiated");
    auto o = std::make_shared<PyObject>();
    o->type = name;
    o->args = args;
    return track(PyValue::object(std::move(o)));
}

void build_object(PyValue& target, PyValue state) {
    if (target.is(PyValue::Kind::Dict)) {
        // state_dict() attaches `_metadata` (module versions) to the OrderedDict as an attribute. It
        // is not part of the dict's items; accept it and let it go.
        const bool dict_state = state.is(PyValue::Kind::Dict) ||
                                (state.is(PyValue::Kind::Tuple) && state.as_sequence().size() == 2);
        WSOL_CHECK(dict_state, "BUILD on a dict needs a dict of attributes, got ", state.type_name());
        return;
    }
    WSOL_CHECK(target.is(PyValue::Kind::Object), "BUILD on a ", target.type_name(), " is not supported");
    target.as_object()->state = std::move(state);
}

}  // namespace pickle_detail

DType torch_storage_dtype(const PyValue& storage_type, const std::string& context) {
    WSOL_CHECK(storage_type.is(PyValue::Kind::Global), context, ": storage type must be a torch storage class, got ",
               storage_type.type_name());
    auto [module, name] = split_global(storage_type.as_string());
    const TypeEntry* e = (module == "torch" || module == "torch.cuda" || module == "torch.storage")
                             ? find_type(kStorageTypes, name) : nullptr;
    WSOL_CHECK(e != nullptr, context, ": unknown storage type ", storage_type.as_string());
    WSOL_CHECK(e->supported, context, ": storage type ", storage_type.as_string(), " (", e->torch_dtype,
               ") has no wsol dtype");
    return e->dtype;
}

DType torch_tensor_type_dtype(const PyValue& tensor_type, const std::string& context) {
    WSOL_CHECK(tensor_type.is(PyValue::Kind::Global), context, ": tensor type must be a torch tensor class, got ",
               tensor_type.type_name());
    auto [module, name] = split_global(tensor_type.as_string());
    const TypeEntry* e = (module == "torch" || module == "torch.cuda") ? find_type(kTensorTypes, name) : nullptr;
    WSOL_CHECK(e != nullptr, context, ": unknown tensor type ", tensor_type.as_string());
    WSOL_CHECK(e->supported, context, ": tensor type ", tensor_type.as_string(), " (", e->torch_dtype,
               ") has no wsol dtype");
    return e->dtype;
}

}  // namespace wsol
