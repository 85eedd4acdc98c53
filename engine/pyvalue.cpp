#include "engine/pyvalue.h"

#include <charconv>
#include <cmath>
#include <algorithm>
#include <cstring>

namespace wsol {

// ---- construction ----------------------------------------------------------------------------

PyValue PyValue::boolean(bool v) { return PyValue(Kind::Bool, int64_t(v)); }
PyValue PyValue::integer(int64_t v) { return PyValue(Kind::Int, v); }
PyValue PyValue::big_integer(std::string bytes) {
    return PyValue(Kind::BigInt, std::make_shared<const std::string>(std::move(bytes)));
}
PyValue PyValue::floating(double v) { return PyValue(Kind::Float, v); }
PyValue PyValue::string(std::string utf8) {
    return PyValue(Kind::String, std::make_shared<const std::string>(std::move(utf8)));
}
PyValue PyValue::bytes(std::string raw) { return PyValue(Kind::Bytes, std::make_shared<const std::string>(std::move(raw))); }
PyValue PyValue::list(PyList items) { return PyValue(Kind::List, std::make_shared<PyList>(std::move(items))); }
PyValue PyValue::tuple(PyList items) { return PyValue(Kind::Tuple, std::make_shared<PyList>(std::move(items))); }
PyValue PyValue::dict() { return PyValue(Kind::Dict, std::make_shared<PyDict>()); }
PyValue PyValue::tensor(std::shared_ptr<PyTensor> t) { return PyValue(Kind::Tensor, std::move(t)); }
PyValue PyValue::storage(std::shared_ptr<PyStorage> s) { return PyValue(Kind::Storage, std::move(s)); }
PyValue PyValue::global(std::string name) {
    return PyValue(Kind::Global, std::make_shared<const std::string>(std::move(name)));
}
PyValue PyValue::object(std::shared_ptr<PyObject> o) { return PyValue(Kind::Object, std::move(o)); }

// ---- inspection ------------------------------------------------------------------------------

const char* PyValue::type_name() const {
    switch (kind_) {
        case Kind::None: return "NoneType";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::BigInt: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::Bytes: return "bytes";
        case Kind::List: return "list";
        case Kind::Tuple: return "tuple";
        case Kind::Dict: return "dict";
        case Kind::Tensor: return "Tensor";
        case Kind::Storage: return "Storage";
        case Kind::Global: return "global";
        case Kind::Object: return "object";
    }
    return "?";
}

void PyValue::wrong_type(const char* expected) const {
    WSOL_FAIL("expected ", expected, ", got ", type_name(), " ", repr(60));
}

bool PyValue::as_bool() const {
    if (kind_ != Kind::Bool) wrong_type("bool");
    return std::get<int64_t>(payload_) != 0;
}

int64_t PyValue::as_int() const {
    if (kind_ != Kind::Int && kind_ != Kind::Bool) wrong_type(kind_ == Kind::BigInt ? "an int within 64 bits" : "int");
    return std::get<int64_t>(payload_);
}

double PyValue::as_float() const {
    if (kind_ == Kind::Float) return std::get<double>(payload_);
    if (kind_ == Kind::Int || kind_ == Kind::Bool) return double(std::get<int64_t>(payload_));
    wrong_type("float");
}

const std::string& PyValue::as_string() const {
    if (kind_ != Kind::String && kind_ != Kind::Bytes && kind_ != Kind::BigInt && kind_ != Kind::Global) {
        wrong_type("str");
    }
    return *std::get<std::shared_ptr<const std::string>>(payload_);
}

const PyList& PyValue::as_sequence() const { return mutable_sequence(); }

PyList& PyValue::mutable_sequence() const {
    if (!is_sequence()) wrong_type("tuple or list");
    return *std::get<std::shared_ptr<PyList>>(payload_);
}

const PyDict& PyValue::as_dict() const { return mutable_dict(); }

PyDict& PyValue::mutable_dict() const {
    if (kind_ != Kind::Dict) wrong_type("dict");
    return *std::get<std::shared_ptr<PyDict>>(payload_);
}

const std::shared_ptr<PyTensor>& PyValue::as_tensor() const {
    if (kind_ != Kind::Tensor) wrong_type("Tensor");
    return std::get<std::shared_ptr<PyTensor>>(payload_);
}

const std::shared_ptr<PyStorage>& PyValue::as_storage() const {
    if (kind_ != Kind::Storage) wrong_type("storage");
    return std::get<std::shared_ptr<PyStorage>>(payload_);
}

const std::shared_ptr<PyObject>& PyValue::as_object() const {
    if (kind_ != Kind::Object) wrong_type("object");
    return std::get<std::shared_ptr<PyObject>>(payload_);
}

const PyValue* PyValue::get(std::string_view key) const {
    return kind_ == Kind::Dict ? std::get<std::shared_ptr<PyDict>>(payload_)->find(key) : nullptr;
}

const void* PyValue::identity() const {
    switch (kind_) {
        case Kind::List:
        case Kind::Tuple: return std::get<std::shared_ptr<PyList>>(payload_).get();
        case Kind::Dict: return std::get<std::shared_ptr<PyDict>>(payload_).get();
        case Kind::Tensor: return std::get<std::shared_ptr<PyTensor>>(payload_).get();
        case Kind::Storage: return std::get<std::shared_ptr<PyStorage>>(payload_).get();
        case Kind::Object: return std::get<std::shared_ptr<PyObject>>(payload_).get();
        case Kind::Global:
        case Kind::String:
        case Kind::Bytes:
        case Kind::BigInt: return std::get<std::shared_ptr<const std::string>>(payload_).get();
        default: return nullptr;
    }
}

// ---- dict ------------------------------------------------------------------------------------

void PyDict::set(PyValue key, PyValue value) {
    std::string hash = py_hash_key(key);
    auto [it, inserted] = index_.emplace(std::move(hash), items.size());
    if (inserted) {
        items.emplace_back(std::move(key), std::move(value));
    } else {
        items[it->second].second = std::move(value);
    }
}

const PyValue* PyDict::find(std::string_view key) const {
    std::string hash = "s";
    hash += key;
    auto it = index_.find(hash);
    return it == index_.end() ? nullptr : &items[it->second].second;
}

namespace {

// Real dict keys are short strings and ints. Bounding a key's size bounds the work of every
// SETITEM, so that a pickle cannot make dict building quadratic with one huge memoized key.
constexpr size_t kMaxKeyBytes = 4096;

// Appends the hash key of `v`; tuples recurse within a small budget.
void append_hash_key(const PyValue& v, std::string& out, int depth, int& budget) {
    WSOL_CHECK(depth <= 8 && --budget >= 0, "dict key ", v.repr(60), " is nested too deeply to be a real key");
    using Kind = PyValue::Kind;
    switch (v.kind()) {
        case Kind::None: out += 'N'; return;
        case Kind::Bool:
        case Kind::Int: out += 'i' + std::to_string(v.as_int()) + ';'; return;
        case Kind::Float: {
            const double d = v.as_float();
            // 2.0 == 2 in Python, so they must hash alike.
            if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
                out += 'i' + std::to_string(int64_t(d)) + ';';
            } else {
                uint64_t bits;
                std::memcpy(&bits, &d, 8);
                out += 'f' + std::to_string(bits) + ';';
            }
            return;
        }
        case Kind::String:
        case Kind::Bytes:
        case Kind::BigInt: {
            const std::string& s = v.as_string();
            WSOL_CHECK(s.size() <= kMaxKeyBytes - std::min(out.size(), kMaxKeyBytes), "dict key ", v.repr(40), " of ",
                       s.size(), " bytes is too long (at most ", kMaxKeyBytes, ")");
            out += v.kind() == Kind::String ? 's' : (v.kind() == Kind::Bytes ? 'b' : 'L');
            if (depth > 0) out += std::to_string(s.size()) + ':';  // length-prefixed inside tuples
            out += s;
            return;
        }
        case Kind::Tuple: {
            const PyList& items = v.as_sequence();
            out += 't' + std::to_string(items.size()) + '(';
            for (const PyValue& item : items) append_hash_key(item, out, depth + 1, budget);
            out += ')';
            return;
        }
        case Kind::Tensor:
        case Kind::Storage:
        case Kind::Global:
        case Kind::Object: {
            // Hashed by identity, as Python does for these.
            out += 'o' + std::to_string(reinterpret_cast<uintptr_t>(v.identity())) + ';';
            return;
        }
        case Kind::List:
        case Kind::Dict: break;
    }
    WSOL_FAIL("unhashable type as a dict key: ", v.type_name());
}

// ---- repr ------------------------------------------------------------------------------------

struct ReprWriter {
    std::string out;
    size_t max_chars;
    bool full() const { return out.size() >= max_chars; }
};

void repr_string(const std::string& s, bool is_bytes, std::string& out) {
    if (is_bytes) out += 'b';
    out += '\'';
    for (unsigned char c : s) {
        if (c == '\'' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);  // UTF-8 bytes of a str pass through
        }
    }
    out += '\'';
}

// Python's repr of a float: the shortest digits that round-trip, written in fixed notation when the
// decimal exponent is in [-4, 16) and in scientific notation otherwise ("0.0001", "1e-05", "1e+16").
std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);  // "-1.2345e-05"
    std::string sci(buf, result.ptr);
    std::string out = sci[0] == '-' ? "-" : "";
    const size_t e = sci.find('e');
    std::string digits;
    for (size_t i = out.size(); i < e; ++i) {
        if (sci[i] != '.') digits += sci[i];
    }
    const int exponent = std::stoi(sci.substr(e + 1));
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out += "0.";
            out.append(size_t(-exponent - 1), '0');
            out += digits;
        } else if (size_t(exponent) + 1 >= digits.size()) {
            out += digits;
            out.append(size_t(exponent) + 1 - digits.size(), '0');
            out += ".0";
        } else {
            out.append(digits, 0, size_t(exponent) + 1);
            out += '.';
            out.append(digits, size_t(exponent) + 1);
        }
        return out;
    }
    out += digits[0];
    if (digits.size() > 1) {
        out += '.';
        out.append(digits, 1);
    }
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp_text;
}

std::string big_int_repr(const std::string& le) {
    if (le.size() > 16) return detail::str_cat("<", le.size() * 8, "-bit int>");
    unsigned __int128 u = 0;
    for (size_t i = le.size(); i-- > 0;) u = (u << 8) | uint8_t(le[i]);
    const bool negative = !le.empty() && (uint8_t(le.back()) & 0x80);
    if (negative && le.size() < 16) u |= ~(unsigned __int128)0 << (8 * le.size());  // sign-extend
    if (negative) u = ~u + 1;
    std::string digits;
    do {
        digits.insert(digits.begin(), char('0' + int(u % 10)));
        u /= 10;
    } while (u != 0);
    return negative ? "-" + digits : digits;
}

void repr_into(const PyValue& v, ReprWriter& w, int depth) {
    using Kind = PyValue::Kind;
    if (w.full()) return;
    if (depth > 12) {
        w.out += "...";
        return;
    }
    switch (v.kind()) {
        case Kind::None: w.out += "None"; return;
        case Kind::Bool: w.out += v.as_bool() ? "True" : "False"; return;
        case Kind::Int: w.out += std::to_string(v.as_int()); return;
        case Kind::BigInt: w.out += big_int_repr(v.as_string()); return;
        case Kind::Float: w.out += float_repr(v.as_float()); return;
        case Kind::String: repr_string(v.as_string(), false, w.out); return;
        case Kind::Bytes: repr_string(v.as_string(), true, w.out); return;
        case Kind::Global: w.out += "<" + v.as_string() + ">"; return;
        case Kind::List:
        case Kind::Tuple: {
            const bool is_list = v.kind() == Kind::List;
            const PyList& items = v.as_sequence();
            w.out += is_list ? '[' : '(';
            for (size_t i = 0; i < items.size() && !w.full(); ++i) {
                if (i) w.out += ", ";
                repr_into(items[i], w, depth + 1);
            }
            if (!is_list && items.size() == 1) w.out += ',';
            w.out += is_list ? ']' : ')';
            return;
        }
        case Kind::Dict: {
            const PyDict& d = v.as_dict();
            w.out += '{';
            for (size_t i = 0; i < d.items.size() && !w.full(); ++i) {
                if (i) w.out += ", ";
                repr_into(d.items[i].first, w, depth + 1);
                w.out += ": ";
                repr_into(d.items[i].second, w, depth + 1);
            }
            w.out += '}';
            return;
        }
        case Kind::Tensor: {
            const PyTensor& t = *v.as_tensor();
            w.out += std::string("Tensor(") + dtype_name(t.dtype) + ", " + shape_str(t.shape) + ")";
            return;
        }
        case Kind::Storage: {
            const PyStorage& s = *v.as_storage();
            w.out += "<" + s.type_name + " '" + s.key + "' of " + std::to_string(s.numel) + ">";
            return;
        }
        case Kind::Object: {
            // Namespace(lr=0.1, name='x'): the short class name, then the state's attributes.
            const PyObject& o = *v.as_object();
            const size_t dot = o.type.rfind('.');
            w.out += (dot == std::string::npos ? o.type : o.type.substr(dot + 1)) + "(";
            bool first = true;
            if (o.args.is_sequence()) {
                for (const PyValue& a : o.args.as_sequence()) {
                    if (w.full()) break;
                    if (!first) w.out += ", ";
                    first = false;
                    repr_into(a, w, depth + 1);
                }
            }
            if (o.state.is(Kind::Dict)) {
                for (const auto& [key, value] : o.state.as_dict().items) {
                    if (w.full()) break;
                    if (!first) w.out += ", ";
                    first = false;
                    if (key.is(Kind::String)) {
                        w.out += key.as_string();
                    } else {
                        repr_into(key, w, depth + 1);
                    }
                    w.out += '=';
                    repr_into(value, w, depth + 1);
                }
            } else if (!o.state.is_none()) {
                if (!first) w.out += ", ";
                w.out += "state=";
                repr_into(o.state, w, depth + 1);
            }
            w.out += ')';
            return;
        }
    }
}

}  // namespace

std::string py_hash_key(const PyValue& key) {
    std::string out;
    int budget = 256;
    append_hash_key(key, out, 0, budget);
    return out;
}

std::string PyValue::repr(size_t max_chars) const {
    ReprWriter w{{}, max_chars};
    repr_into(*this, w, 0);
    if (w.out.size() > max_chars) {
        w.out.resize(max_chars);
        w.out += "...";
    }
    return w.out;
}

}  // namespace wsol
