#include "engine/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/file_util.h"

namespace wsol {

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference reader's limit

bool dtype_from_safetensors(const std::string& name, DType& out) {
    static const std::pair<const char*, DType> table[] = {
        {"F32", kFloat32}, {"F64", kFloat64}, {"BF16", kBFloat16}, {"F16", kFloat16},
        {"I32", kInt32},   {"I64", kInt64},   {"U8", kUInt8},      {"BOOL", kBool},
    };
    for (const auto& [text, dtype] : table) {
        if (name == text) {
            out = dtype;
            return true;
        }
    }
    return false;
}

uint64_t read_u64_le(const char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
    return v;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
    switch (dtype) {
        case kFloat32: return "F32";
        case kFloat64: return "F64";
        case kBFloat16: return "BF16";
        case kFloat16: return "F16";
        case kInt32: return "I32";
        case kInt64: return "I64";
        case kUInt8: return "U8";
        case kBool: return "BOOL";
    }
    return "?";
}

bool TensorFile::contains(const std::string& name) const {
    return std::any_of(tensors.begin(), tensors.end(), [&](const auto& p) { return p.first == name; });
}

const Tensor& TensorFile::at(const std::string& name) const {
    for (const auto& [key, tensor] : tensors) {
        if (key == name) return tensor;
    }
    WSOL_FAIL(source, ": no tensor named '", name, "'");
}

TensorFile parse_safetensors(std::string_view bytes, const std::string& source) {
    TensorFile file;
    file.source = source;
    WSOL_CHECK(bytes.size() >= 8, source, ": not a safetensors file (", bytes.size(), " bytes, shorter than the 8-byte header length)");
    const uint64_t header_len = read_u64_le(bytes.data());
    WSOL_CHECK(header_len <= kMaxHeader, source, ": safetensors header length ", header_len, " exceeds the limit of ",
               kMaxHeader, " bytes");
    WSOL_CHECK(header_len <= bytes.size() - 8, source, ": safetensors header length ", header_len,
               " runs past the end of the file (", bytes.size(), " bytes)");
    const std::string_view header = bytes.substr(8, header_len);
    const size_t first = header.find_first_not_of(" \t\r\n");
    WSOL_CHECK(first != std::string_view::npos && header[first] == '{', source,
               ": safetensors header is not a JSON object");

    // Parse, rejecting duplicate names at the top level (nlohmann would silently keep the last).
    std::set<std::string> names;
    std::string duplicate;
    nlohmann::json::parser_callback_t on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                                     nlohmann::json& parsed) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
            if (!names.insert(parsed.get<std::string>()).second && duplicate.empty()) duplicate = parsed.get<std::string>();
        }
        return true;
    };
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(header.begin(), header.end(), on_event);
    } catch (const nlohmann::json::exception& e) {
        WSOL_FAIL(source, ": safetensors header is not valid JSON: ", e.what());
    }
    WSOL_CHECK(duplicate.empty(), source, ": tensor name '", duplicate, "' appears twice");
    WSOL_CHECK(json.is_object(), source, ": safetensors header is not a JSON object");

    const std::string_view data = bytes.substr(8 + header_len);
    struct Entry {
        std::string name;
        DType dtype;
        Shape shape;
        uint64_t begin, end;
    };
    std::vector<Entry> entries;
    for (auto it = json.begin(); it != json.end(); ++it) {
        const std::string& name = it.key();
        const nlohmann::json& value = it.value();
        if (name == "__metadata__") {
            WSOL_CHECK(value.is_object(), source, ": __metadata__ must be an object of strings");
            for (auto m = value.begin(); m != value.end(); ++m) {
                WSOL_CHECK(m.value().is_string(), source, ": __metadata__ value of '", m.key(), "' is not a string");
                file.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        WSOL_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                       value.contains("data_offsets") && value.size() == 3,
                   source, ": tensor '", name, "' needs exactly dtype, shape and data_offsets");
        const auto& dt = value["dtype"];
        const auto& sh = value["shape"];
        const auto& off = value["data_offsets"];
        WSOL_CHECK(dt.is_string(), source, ": tensor '", name, "': dtype is not a string");
        Entry e{name, kFloat32, {}, 0, 0};
        WSOL_CHECK(dtype_from_safetensors(dt.get<std::string>(), e.dtype), source, ": tensor '", name, "' has dtype ",
                   dt.get<std::string>(), ", which wsol does not support (F32, F64, BF16, F16, I32, I64, U8, BOOL)");
        WSOL_CHECK(sh.is_array(), source, ": tensor '", name, "': shape is not an array");
        uint64_t numel = 1;
        for (const auto& s : sh) {
            WSOL_CHECK(s.is_number_unsigned(), source, ": tensor '", name, "': shape entries must be non-negative integers");
            const uint64_t d = s.get<uint64_t>();
            WSOL_CHECK(d <= uint64_t(INT64_MAX) && !__builtin_mul_overflow(numel, d, &numel), source, ": tensor '", name,
                       "': shape overflows");
            e.shape.push_back(int64_t(d));
        }
        WSOL_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                   source, ": tensor '", name, "': data_offsets must be two non-negative integers");
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        uint64_t nbytes = 0;
        WSOL_CHECK(!__builtin_mul_overflow(numel, uint64_t(dtype_size(e.dtype)), &nbytes), source, ": tensor '", name,
                   "': byte size overflows");
        WSOL_CHECK(e.end >= e.begin && e.end - e.begin == nbytes, source, ": tensor '", name, "' of shape ",
                   shape_str(e.shape), " ", dt.get<std::string>(), " needs ", nbytes, " bytes but data_offsets [",
                   e.begin, ", ", e.end, "] give ", e.end >= e.begin ? e.end - e.begin : 0);
        entries.push_back(std::move(e));
    }
    // Data ranges, sorted by offset, must tile the data buffer from 0 without holes.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t expected = 0;
    for (const Entry& e : entries) {
        WSOL_CHECK(e.begin == expected, source, ": tensor '", e.name, "' starts at data offset ", e.begin, ", expected ",
                   expected, " (ranges must be contiguous without holes or overlaps)");
        expected = e.end;
    }
    WSOL_CHECK(expected == data.size(), source, ": the header describes ", expected, " bytes of data but the file has ",
               data.size(), " (truncated or trailing bytes)");
    for (const Entry& e : entries) {
        Tensor t = Tensor::empty(e.shape, e.dtype, kCPU);
        if (e.end > e.begin) std::memcpy(t.raw_data(), data.data() + e.begin, e.end - e.begin);
        file.tensors.emplace_back(e.name, std::move(t));
    }
    return file;
}

TensorFile load_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
    // Like the reference writer: largest element size first, then by name, so every tensor starts
    // aligned to its element size once the header is padded to a multiple of 8.
    std::vector<const std::pair<std::string, Tensor>*> order;
    std::set<std::string> seen;
    for (const auto& entry : tensors) {
        WSOL_CHECK(entry.first != "__metadata__", "save_safetensors: '__metadata__' is reserved");
        WSOL_CHECK(seen.insert(entry.first).second, "save_safetensors: tensor name '", entry.first, "' appears twice");
        WSOL_CHECK(entry.second.defined(), "save_safetensors: tensor '", entry.first, "' is undefined");
        order.push_back(&entry);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        const size_t sa = a->second.element_size(), sb = b->second.element_size();
        return sa != sb ? sa > sb : a->first < b->first;
    });
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto* entry : order) {
        const Tensor& t = entry->second;
        const uint64_t nbytes = uint64_t(t.numel()) * t.element_size();
        header[entry->first] = {{"dtype", safetensors_dtype_name(t.dtype())},
                                {"shape", t.shape()},
                                {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    const uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    out += json;
    out.reserve(out.size() + offset);
    for (const auto* entry : order) {
        const Tensor& t = entry->second;
        Tensor host = Tensor::empty(t.shape(), t.dtype(), kCPU);
        copy_into(host, t);
        out.append(static_cast<const char*>(host.raw_data()), size_t(host.numel()) * host.element_size());
    }
    return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
    write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace wsol
