#include "checkpoint_file.h"

#include <iomanip>
#include <set>

#include "engine/file_util.h"

namespace wsol::convert {

namespace {

// safetensors has no magic number: an 8-byte little-endian header length that fits in the file,
// then a JSON object. No PyTorch container can look like that (zip and tar start with names or
// signatures, a pickle with 0x80 0x02; read as a length, each is far larger than the file).
bool looks_like_safetensors(const std::string& bytes) {
    if (bytes.size() < 10) return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    if (n < 2 || n > bytes.size() - 8) return false;
    const size_t first = bytes.find_first_not_of(" \t\r\n", 8);
    return first != std::string::npos && first < 8 + n && bytes[first] == '{';
}

std::string human_bytes(uint64_t n) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1);
    if (n >= (uint64_t(1) << 30)) {
        s << double(n) / double(uint64_t(1) << 30) << " GiB";
    } else if (n >= (uint64_t(1) << 20)) {
        s << double(n) / double(uint64_t(1) << 20) << " MiB";
    } else if (n >= 1024) {
        s << double(n) / 1024.0 << " KiB";
    } else {
        s << n << " bytes";
    }
    return s.str();
}

}  // namespace

CheckpointFile read_checkpoint(const std::string& path) {
    CheckpointFile file;
    file.path = path;
    std::string bytes = read_file(path);
    if (looks_like_safetensors(bytes)) {
        file.kind = "safetensors";
        file.safetensors = parse_safetensors(bytes, path);
    } else {
        file.pth = parse_pth(bytes, path);
        switch (file.pth->container) {
            case PthContainer::Zip: file.kind = "PyTorch zip (torch >= 1.6)"; break;
            case PthContainer::Legacy:
                file.kind = "PyTorch legacy stream (torch 0.1.10 - 1.5, or _use_new_zipfile_serialization=False)";
                break;
            case PthContainer::Tar: file.kind = "PyTorch tar (torch <= 0.1.9)"; break;
        }
    }
    return file;
}

void list_checkpoint(const CheckpointFile& file, std::ostream& out) {
    std::vector<std::pair<std::string, PyValue>> entries;
    if (file.pth) {
        entries = flatten_checkpoint(file.pth->object, file.path);
    } else {
        for (const auto& [name, tensor] : file.safetensors->tensors) {
            auto t = std::make_shared<PyTensor>();
            t->dtype = tensor.dtype();
            t->shape = tensor.shape();
            t->value = tensor;
            entries.emplace_back(name, PyValue::tensor(std::move(t)));
        }
        for (const auto& [key, value] : file.safetensors->metadata) {
            entries.emplace_back("__metadata__." + key, PyValue::string(value));
        }
    }
    size_t width = 0;
    for (const auto& [name, value] : entries) {
        if (value.is(PyValue::Kind::Tensor)) width = std::max(width, name.size());
    }
    width = std::min<size_t>(width, 64);
    out << "file: " << file.path << "\ncontainer: " << file.kind << "\n";
    size_t count = 0;
    uint64_t elements = 0, bytes = 0;
    std::set<DType> dtypes;
    for (const auto& [name, value] : entries) {
        if (value.is(PyValue::Kind::Tensor)) {
            const Tensor& t = value.as_tensor()->value;
            out << std::left << std::setw(int(width)) << name << "  " << std::setw(8) << dtype_name(t.dtype()) << "  "
                << shape_str(t.shape()) << "\n";
            ++count;
            elements += uint64_t(t.numel());
            bytes += uint64_t(t.numel()) * t.element_size();
            dtypes.insert(t.dtype());
        } else {
            out << name << ": " << value.repr(200) << "\n";
        }
    }
    out << count << " tensors, " << elements << " elements, " << human_bytes(bytes);
    if (!dtypes.empty()) {
        out << " (";
        for (auto it = dtypes.begin(); it != dtypes.end(); ++it) out << (it == dtypes.begin() ? "" : ", ") << dtype_name(*it);
        out << ")";
    }
    out << "\n";
}

NamedTensors checkpoint_tensors(const CheckpointFile& file) {
    if (file.safetensors) return file.safetensors->tensors;
    return pth_state_dict(file.pth->object, file.path);
}

KeyMap identity_key_map() {
    return [](const std::string& key) { return std::optional<std::string>(key); };
}

KeyMap strip_prefix_key_map(std::string prefix) {
    return [prefix = std::move(prefix)](const std::string& key) {
        return std::optional<std::string>(key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key);
    };
}

NamedTensors apply_key_map(const NamedTensors& tensors, const KeyMap& map, const std::string& source) {
    NamedTensors out;
    std::set<std::string> seen;
    for (const auto& [key, tensor] : tensors) {
        std::optional<std::string> mapped = map(key);
        if (!mapped) continue;
        WSOL_CHECK(!mapped->empty(), source, ": key '", key, "' maps to an empty name");
        WSOL_CHECK(seen.insert(*mapped).second, source, ": two keys map to '", *mapped, "' (the second is '", key, "')");
        out.emplace_back(std::move(*mapped), tensor);
    }
    return out;
}

}  // namespace wsol::convert
