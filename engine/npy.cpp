// NumPy .npy reader and writer (format in npy.h). The header is a Python dict literal; instead of
// a general Python parser we read exactly the grammar numpy writes (and ast.literal_eval would
// accept for these three keys): strings in single or double quotes, True/False, integers and
// tuples of integers, with free whitespace and optional trailing commas.
#include "engine/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>

#include "engine/file_util.h"

namespace wsol {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct DescrEntry {
    const char* code;  // kind + item size, without the byte-order mark
    DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"f4", kFloat32}, {"f8", kFloat64}, {"f2", kFloat16}, {"i4", kInt32},
    {"i8", kInt64},   {"u1", kUInt8},   {"b1", kBool},
};

// ---- the header dict ---------------------------------------------------------------------------

// One parsed header value. Only the forms the three keys can take are representable.
struct Value {
    enum Kind { String, Bool, Int, Tuple, List } kind = String;
    std::string text;
    bool flag = false;
    int64_t number = 0;
    std::vector<int64_t> items;  // Tuple/List of integers
};

class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

    // Parses the whole dict into key -> value; trailing whitespace only after the closing brace.
    std::vector<std::pair<std::string, Value>> parse_dict() {
        std::vector<std::pair<std::string, Value>> out;
        skip_space();
        expect('{');
        skip_space();
        while (peek() != '}') {
            std::string key = parse_string();
            skip_space();
            expect(':');
            skip_space();
            Value value = parse_value();
            out.emplace_back(std::move(key), std::move(value));
            skip_space();
            if (peek() == ',') {
                ++pos_;
                skip_space();
                continue;
            }
            WSOL_CHECK(peek() == '}', source_, ": npy header: expected ',' or '}' at header offset ", pos_, " (",
                       near(), ")");
        }
        ++pos_;
        skip_space();
        WSOL_CHECK(pos_ == s_.size(), source_, ": npy header: unexpected text after the dict at header offset ", pos_,
                   " (", near(), ")");
        return out;
    }

private:
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    std::string near() const {
        std::string out;
        for (size_t i = pos_; i < s_.size() && out.size() < 20; ++i) {
            const unsigned char c = static_cast<unsigned char>(s_[i]);
            out += std::isprint(c) ? char(c) : '?';
        }
        return pos_ >= s_.size() ? "end of header" : "'" + out + "'";
    }
    void expect(char c) {
        WSOL_CHECK(peek() == c, source_, ": npy header: expected '", c, "' at header offset ", pos_, " (", near(),
                   ")");
        ++pos_;
    }

    std::string parse_string() {
        const char quote = peek();
        WSOL_CHECK(quote == '\'' || quote == '"', source_, ": npy header: expected a quoted key or string at header "
                   "offset ", pos_, " (", near(), ")");
        ++pos_;
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != quote) {
            // Escapes never occur in the strings numpy writes ('descr' type codes and key names).
            WSOL_CHECK(s_[pos_] != '\\', source_, ": npy header: escape sequences in strings are not supported");
            out += s_[pos_++];
        }
        WSOL_CHECK(pos_ < s_.size(), source_, ": npy header: unterminated string");
        ++pos_;
        return out;
    }

    int64_t parse_int() {
        const size_t start = pos_;
        int64_t value = 0;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
            const int digit = s_[pos_] - '0';
            WSOL_CHECK(value <= (INT64_MAX - digit) / 10, source_, ": npy header: integer too large at header offset ",
                       start);
            value = value * 10 + digit;
            ++pos_;
        }
        WSOL_CHECK(pos_ > start, source_, ": npy header: expected a non-negative integer at header offset ", start, " (",
                   near(), ")");
        if (peek() == 'L') ++pos_;  // Python 2 long suffix, written by very old numpy versions
        return value;
    }

    Value parse_value() {
        Value v;
        const char c = peek();
        if (c == '\'' || c == '"') {
            v.kind = Value::String;
            v.text = parse_string();
        } else if (s_.substr(pos_, 4) == "True") {
            v.kind = Value::Bool;
            v.flag = true;
            pos_ += 4;
        } else if (s_.substr(pos_, 5) == "False") {
            v.kind = Value::Bool;
            v.flag = false;
            pos_ += 5;
        } else if (c == '(' || c == '[') {
            // A tuple needs a comma unless it is empty: "(3)" is the integer 3 in Python.
            const char close = c == '(' ? ')' : ']';
            v.kind = c == '(' ? Value::Tuple : Value::List;
            ++pos_;
            skip_space();
            bool comma = false;
            while (peek() != close) {
                WSOL_CHECK(v.items.size() < 64, source_, ": npy header: shape has more than 64 dimensions");
                WSOL_CHECK(std::isdigit(static_cast<unsigned char>(peek())), source_, ": npy header: unsupported "
                           "value at header offset ", pos_, " (", near(), "): only tuples of non-negative integers "
                           "are read (structured dtypes are not supported)");
                v.items.push_back(parse_int());
                skip_space();
                if (peek() == ',') {
                    comma = true;
                    ++pos_;
                    skip_space();
                } else {
                    WSOL_CHECK(peek() == close, source_, ": npy header: expected ',' or '", close,
                               "' in a shape at header offset ", pos_, " (", near(), ")");
                }
            }
            ++pos_;
            if (v.kind == Value::Tuple && v.items.size() == 1 && !comma) {
                v.kind = Value::Int;  // parenthesised integer, not a tuple
                v.number = v.items[0];
                v.items.clear();
            }
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            v.kind = Value::Int;
            v.number = parse_int();
        } else {
            WSOL_FAIL(source_, ": npy header: unsupported value at header offset ", pos_, " (", near(),
                      "); structured dtypes are not supported");
        }
        return v;
    }

    std::string_view s_;
    const std::string& source_;
    size_t pos_ = 0;
};

DType dtype_from_descr(const std::string& descr, const std::string& source) {
    WSOL_CHECK(descr.size() >= 2, source, ": npy dtype '", descr, "' is not a simple type string");
    char order = '=';
    std::string code = descr;
    if (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=') {
        order = descr[0];
        code = descr.substr(1);
    }
    for (const DescrEntry& e : kDescrs) {
        if (code != e.code) continue;
        const bool one_byte = dtype_size(e.dtype) == 1;
        WSOL_CHECK(one_byte || order == '<' || order == '=', source, ": npy dtype '", descr,
                   "' is big-endian; only little-endian data is supported");
        return e.dtype;
    }
    WSOL_FAIL(source, ": npy dtype '", descr, "' is not supported (supported: <f4, <f8, <f2, <i4, <i8, |u1, |b1",
              code.find('O') != std::string::npos ? "; object arrays cannot be read" : "", ")");
}

uint32_t read_le(const char* p, int bytes) {
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
    return v;
}

}  // namespace

const char* npy_descr(DType dtype) {
    switch (dtype) {
        case kFloat32: return "<f4";
        case kFloat64: return "<f8";
        case kFloat16: return "<f2";
        case kInt32: return "<i4";
        case kInt64: return "<i8";
        case kUInt8: return "|u1";
        case kBool: return "|b1";
        case kBFloat16: break;
    }
    WSOL_FAIL("save_npy: dtype ", dtype_name(dtype), " has no NumPy equivalent");
}

Tensor parse_npy(std::string_view bytes, const std::string& source) {
    WSOL_CHECK(bytes.size() >= kMagicLen + 2 && std::memcmp(bytes.data(), kMagic, kMagicLen) == 0, source,
               ": not a .npy file (the magic string \\x93NUMPY is missing)");
    const int major = uint8_t(bytes[6]), minor = uint8_t(bytes[7]);
    WSOL_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, source, ": unsupported .npy format version ",
               major, ".", minor, " (1.0, 2.0 and 3.0 are supported)");
    const int len_bytes = major == 1 ? 2 : 4;
    const size_t prefix = kMagicLen + 2 + size_t(len_bytes);
    WSOL_CHECK(bytes.size() >= prefix, source, ": .npy file truncated inside the header length (", bytes.size(),
               " bytes)");
    const uint32_t header_len = read_le(bytes.data() + kMagicLen + 2, len_bytes);
    WSOL_CHECK(header_len <= bytes.size() - prefix, source, ": .npy header of ", header_len,
               " bytes runs past the end of the file (", bytes.size(), " bytes)");
    const std::string_view header = bytes.substr(prefix, header_len);
    // 1.0/2.0 headers are latin-1 and 3.0 headers UTF-8; the values we accept are plain ASCII either way.
    const auto entries = HeaderParser(header, source).parse_dict();

    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    std::set<std::string> seen;
    for (const auto& [key, value] : entries) {
        WSOL_CHECK(seen.insert(key).second, source, ": npy header has the key '", key, "' twice");
        if (key == "descr") {
            WSOL_CHECK(value.kind == Value::String, source, ": npy 'descr' is not a type string (structured dtypes are "
                       "not supported)");
            descr = value.text;
        } else if (key == "fortran_order") {
            WSOL_CHECK(value.kind == Value::Bool, source, ": npy 'fortran_order' must be True or False");
            fortran = value.flag;
        } else if (key == "shape") {
            WSOL_CHECK(value.kind == Value::Tuple, source, ": npy 'shape' must be a tuple of integers");
            shape = Shape(value.items.begin(), value.items.end());
        } else {
            WSOL_FAIL(source, ": npy header has the unexpected key '", key, "' (expected descr, fortran_order, shape)");
        }
    }
    WSOL_CHECK(descr && fortran && shape, source, ": npy header lacks ", !descr ? "'descr'" : !fortran ?
               "'fortran_order'" : "'shape'");
    const DType dtype = dtype_from_descr(*descr, source);

    uint64_t numel = 1;
    for (int64_t d : *shape) {
        WSOL_CHECK(!__builtin_mul_overflow(numel, uint64_t(d), &numel) && numel <= uint64_t(INT64_MAX), source,
                   ": npy shape ", shape_str(*shape), " overflows");
    }
    uint64_t nbytes = 0;
    WSOL_CHECK(!__builtin_mul_overflow(numel, uint64_t(dtype_size(dtype)), &nbytes), source, ": npy shape ",
               shape_str(*shape), " overflows");
    const std::string_view data = bytes.substr(prefix + header_len);
    WSOL_CHECK(data.size() == nbytes, source, ": npy array ", shape_str(*shape), " ", *descr, " needs ", nbytes,
               " bytes of data but the file has ", data.size(), data.size() < nbytes ? " (truncated)" :
               " (trailing bytes)");

    // Fortran order stores the transpose contiguously: read it as the reversed shape, then copy
    // the transposed view into C order.
    Shape stored = *shape;
    if (*fortran) stored.assign(shape->rbegin(), shape->rend());
    Tensor raw = Tensor::empty(stored, dtype, kCPU);
    if (nbytes > 0) std::memcpy(raw.raw_data(), data.data(), nbytes);
    if (dtype == kBool) {
        // numpy treats any non-zero byte as True; wsol bool tensors hold exactly 0 or 1.
        uint8_t* p = static_cast<uint8_t*>(raw.raw_data());
        for (uint64_t i = 0; i < numel; ++i) p[i] = p[i] != 0;
    }
    if (!*fortran || shape->size() < 2) return raw;
    Strides reversed = raw.strides();
    std::reverse(reversed.begin(), reversed.end());
    Tensor out = Tensor::empty(*shape, dtype, kCPU);
    copy_into(out, raw.as_strided(*shape, reversed, 0));
    return out;
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string serialize_npy(const Tensor& tensor) {
    WSOL_CHECK(tensor.defined(), "save_npy: the tensor is undefined");
    std::string dict = std::string("{'descr': '") + npy_descr(tensor.dtype()) + "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < tensor.shape().size(); ++i) {
        dict += std::to_string(tensor.shape()[i]);
        if (i + 1 < tensor.shape().size() || tensor.shape().size() == 1) dict += ",";
        if (i + 1 < tensor.shape().size()) dict += " ";
    }
    dict += "), }";
    // Pad with spaces and end with '\n' so that the data starts at a multiple of 64 bytes.
    int major = 1;
    size_t prefix = kMagicLen + 2 + 2;
    size_t total = prefix + dict.size() + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded - prefix > 65535) {
        major = 2;
        prefix = kMagicLen + 2 + 4;
        total = prefix + dict.size() + 1;
        padded = (total + 63) / 64 * 64;
    }
    dict.append(padded - total, ' ');
    dict += '\n';
    const uint32_t header_len = uint32_t(dict.size());

    Tensor host = Tensor::empty(tensor.shape(), tensor.dtype(), kCPU);
    copy_into(host, tensor);
    const size_t nbytes = size_t(host.numel()) * host.element_size();
    std::string out(kMagic, kMagicLen);
    out += char(major);
    out += char(0);
    for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out += char((header_len >> (8 * i)) & 0xff);
    out += dict;
    out.reserve(out.size() + nbytes);
    out.append(static_cast<const char*>(host.raw_data()), nbytes);
    return out;
}

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomic(path, serialize_npy(tensor)); }

}  // namespace wsol
