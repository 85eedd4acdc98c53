// PyValue: the small set of Python values that a PyTorch checkpoint's pickle can hold, as plain data.
//
// The strict unpickler (engine/pickle.h) builds these instead of Python objects. Nothing here can
// run code: a value is None, a bool, an int, a float, a str, bytes, a list, a tuple, an ordered
// dict, a tensor (storage reference + offset + size + stride), a storage reference, a global name
// (only allow-listed ones ever get this far) or an opaque object of an allow-listed class that
// records how it was built (argparse.Namespace: its class, constructor arguments and state).
//
// Containers have reference semantics like in Python: the pickle memo can hand out the same list
// or dict twice, and a dict that is filled after being memoized must be seen filled through every
// reference. So List/Tuple/Dict/Object hold a shared_ptr; copying a PyValue copies the handle.
// Strings and bytes are shared too, so that a memo reference to a large string costs nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "engine/tensor.h"

namespace wsol {

class PyValue;
struct PyDict;
struct PyObject;
using PyList = std::vector<PyValue>;

// A storage named by a persistent id: torch's ('storage', <X>Storage, key, location, numel[, view]).
// The container reader fills `data` with the bytes; `root` is set for the storage views of old
// legacy and tar files, which are element ranges [root_offset, root_offset + numel) of another storage.
struct PyStorage {
    std::string key;        // zip: the record name under data/; legacy and tar: a pointer-like id
    std::string type_name;  // "torch.FloatStorage", for messages
    DType dtype = kUInt8;
    int64_t numel = 0;      // elements of dtype
    std::string location;   // "cpu", "cuda:0": informational only, everything is read to the CPU
    std::shared_ptr<Storage> data;           // numel * dtype_size(dtype) bytes once loaded
    std::shared_ptr<PyStorage> root;         // views only
    int64_t root_offset = 0;                 // views only, in elements
};

// A tensor as torch._utils._rebuild_tensor_v2 describes it; `value` is set by the container
// reader once the storage bytes are known (engine/pth.h: resolve_tensors).
struct PyTensor {
    std::shared_ptr<PyStorage> storage;
    DType dtype = kFloat32;  // the storage's dtype, except for _rebuild_tensor_v3
    int64_t offset = 0;      // in elements
    Shape shape;
    Strides strides;         // in elements
    Tensor value;
};

class PyValue {
public:
    enum class Kind : uint8_t { None, Bool, Int, BigInt, Float, String, Bytes, List, Tuple, Dict, Tensor, Storage,
                                Global, Object };

    PyValue() = default;  // None
    static PyValue boolean(bool v);
    static PyValue integer(int64_t v);
    // An int that does not fit in 64 bits, as Python's little-endian two's complement bytes.
    static PyValue big_integer(std::string little_endian_bytes);
    static PyValue floating(double v);
    static PyValue string(std::string utf8);
    static PyValue bytes(std::string raw);
    static PyValue list(PyList items = {});
    static PyValue tuple(PyList items = {});
    static PyValue dict();
    static PyValue tensor(std::shared_ptr<PyTensor> t);
    static PyValue storage(std::shared_ptr<PyStorage> s);
    static PyValue global(std::string module_dot_name);  // "torch._utils._rebuild_tensor_v2"
    static PyValue object(std::shared_ptr<PyObject> o);

    Kind kind() const { return kind_; }
    bool is(Kind k) const { return kind_ == k; }
    bool is_none() const { return kind_ == Kind::None; }
    bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
    // Python's type name for messages: "int", "str", "tuple", "OrderedDict", "Tensor", ...
    const char* type_name() const;

    // Checked accessors: each throws wsol::Error naming the expected and the actual type.
    bool as_bool() const;
    int64_t as_int() const;     // bool counts as int, like in Python
    double as_float() const;    // int converts, like in Python
    const std::string& as_string() const;  // str, bytes, a big int's bytes, or a global's name
    const PyList& as_sequence() const;     // list or tuple
    PyList& mutable_sequence() const;
    const PyDict& as_dict() const;
    PyDict& mutable_dict() const;
    const std::shared_ptr<PyTensor>& as_tensor() const;
    const std::shared_ptr<PyStorage>& as_storage() const;
    const std::shared_ptr<PyObject>& as_object() const;

    // A dict's value for a str key; nullptr when this is not a dict or the key is absent.
    const PyValue* get(std::string_view key) const;
    // The address of the shared container/tensor/object (identity), or nullptr for plain values.
    const void* identity() const;

    // A short Python-like rendering ("0.4", "'adamw'", "Namespace(lr=0.1, ...)"), cut at about
    // `max_chars` characters. Tensors render as "Tensor(float32, (2,3))".
    std::string repr(size_t max_chars = 160) const;

private:
    using Payload = std::variant<std::monostate, int64_t, double, std::shared_ptr<const std::string>,
                                 std::shared_ptr<PyList>, std::shared_ptr<PyDict>, std::shared_ptr<PyTensor>,
                                 std::shared_ptr<PyStorage>, std::shared_ptr<PyObject>>;
    PyValue(Kind kind, Payload payload) : kind_(kind), payload_(std::move(payload)) {}
    [[noreturn]] void wrong_type(const char* expected) const;

    Kind kind_ = Kind::None;
    Payload payload_;
};

// A dict that keeps insertion order (every dict in a checkpoint is either an OrderedDict or a
// Python 3.7+ dict, both ordered). Keys must be hashable: None, bool, int, float, str, bytes, tuples
// of those, or identity-hashed values (tensors, globals, objects).
struct PyDict {
    std::vector<std::pair<PyValue, PyValue>> items;
    // Replaces the value of an existing key in place (Python keeps the first position); throws
    // wsol::Error for an unhashable key (list, dict).
    void set(PyValue key, PyValue value);
    // The value of a str key, or nullptr.
    const PyValue* find(std::string_view key) const;
    size_t size() const { return items.size(); }

private:
    std::unordered_map<std::string, size_t> index_;  // hash_key(key) -> position in items
};

// An instance of an allow-listed class, e.g. argparse.Namespace: kept as data, never constructed.
struct PyObject {
    std::string type;  // "argparse.Namespace"
    PyValue args;      // constructor arguments (a tuple, from NEWOBJ or REDUCE)
    PyValue state;     // what BUILD applied (None when there was no BUILD)
};

// A canonical string for a hashable key, equal for values Python considers equal (1, 1.0 and True;
// equal tuples); identity for tensors, globals and objects. Throws wsol::Error for lists and dicts
// and for keys nested too deeply to be real.
std::string py_hash_key(const PyValue& key);

}  // namespace wsol
