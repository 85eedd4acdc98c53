// Front end of the checkpoint reader: container detection, turning PyTensors into tensors, and
// finding the state dict. The container readers are in pth_containers.cpp.
#include "engine/pth.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "engine/pth_internal.h"
#include "engine/tar.h"

namespace wsol {

using namespace pth_detail;

namespace {

using Kind = PyValue::Kind;

// Visiting a value graph: the unpickler guarantees a DAG of depth <= 100, but a DAG may share a
// subtree many times over, so walks that follow every path carry a budget.
constexpr size_t kMaxLeaves = size_t(1) << 20;
constexpr size_t kMaxNameBytes = size_t(1) << 16;

// Builds the tensor a PyTensor describes, after checking that it stays inside its storage.
// `copy_budget` bounds the bytes spent packing strided tensors: many strided views of one large
// storage would otherwise turn a small file into huge copies.
Tensor make_tensor(const PyTensor& t, const std::string& source, uint64_t& copy_budget) {
    const PyStorage& s = *t.storage;
    const PyStorage& base = s.root ? *s.root : s;
    const std::string what = source + ": tensor " + shape_str(t.shape) + " on storage '" + s.key + "' (" +
                             (s.type_name.empty() ? dtype_name(s.dtype) : s.type_name) + ")";
    WSOL_CHECK(base.data != nullptr, what, ": the storage has no data in the file");
    const size_t esize = dtype_size(t.dtype);
    // Bytes this storage (or storage view) spans inside the root's memory.
    const uint64_t first_byte = uint64_t(s.root_offset) * dtype_size(base.dtype);
    const uint64_t nbytes = storage_nbytes(s.numel, s.dtype, what);
    WSOL_CHECK(first_byte <= base.data->nbytes() && nbytes <= base.data->nbytes() - first_byte, what,
               ": storage range exceeds its data");
    const int64_t capacity = int64_t(nbytes / esize);  // in elements of the tensor's dtype

    int64_t numel = 1, last = t.offset;  // last: the highest element index the tensor reaches
    bool empty = false;
    for (size_t d = 0; d < t.shape.size(); ++d) {
        if (t.shape[d] == 0) empty = true;
    }
    for (size_t d = 0; d < t.shape.size() && !empty; ++d) {
        int64_t reach = 0;
        WSOL_CHECK(!__builtin_mul_overflow(numel, t.shape[d], &numel) &&
                       !__builtin_mul_overflow(t.shape[d] - 1, t.strides[d], &reach) &&
                       !__builtin_add_overflow(last, reach, &last),
                   what, ": size ", shape_str(t.shape), " with stride ", shape_str(t.strides), " overflows");
    }
    if (empty) {
        int64_t product = 1;  // the shape must stay representable (strides of the empty tensor)
        for (int64_t d : t.shape) {
            WSOL_CHECK(!__builtin_mul_overflow(product, std::max<int64_t>(d, 1), &product), what, ": size ",
                       shape_str(t.shape), " overflows");
        }
        return Tensor::empty(t.shape, t.dtype, kCPU);
    }
    WSOL_CHECK(last < capacity, what, ": offset ", t.offset, ", size ", shape_str(t.shape), " and stride ",
               shape_str(t.strides), " reach element ", last, " but the storage holds only ", capacity,
               " (storage shorter than its tensor)");
    // More elements than the storage holds means overlapping (expanded) elements; copying those out
    // could turn a small file into an enormous tensor.
    WSOL_CHECK(numel <= capacity, what, ": ", numel, " elements overlap in a storage of ", capacity,
               " (expanded tensors are not supported)");

    // The elements must be aligned for their type. Storages shared with the file buffer are aligned
    // for the storage's dtype; a tensor of another dtype over raw bytes (_rebuild_tensor_v3 on an
    // UntypedStorage) may not be, and then gets an aligned copy of its storage.
    std::shared_ptr<Storage> memory = base.data;
    uint64_t start = first_byte;
    if (reinterpret_cast<uintptr_t>(memory->data()) % esize != 0 || start % esize != 0) {
        WSOL_CHECK(nbytes <= copy_budget, what, ": aligning storages would copy more than twice the file's size");
        copy_budget -= nbytes;
        auto aligned = Storage::allocate(size_t(nbytes), kCPU);
        if (nbytes) std::memcpy(aligned->data(), static_cast<const char*>(memory->data()) + start, size_t(nbytes));
        memory = std::move(aligned);
        start = 0;
    }
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = memory;
    impl->shape = t.shape;
    impl->strides = t.strides;
    impl->offset = int64_t(start / esize) + t.offset;
    impl->dtype = t.dtype;
    Tensor view(std::move(impl));
    if (view.is_contiguous()) return view;  // shares the storage, like torch
    const uint64_t packed_bytes = uint64_t(numel) * esize;
    WSOL_CHECK(packed_bytes <= copy_budget, what, ": packing strided tensors would copy more than twice the file's size");
    copy_budget -= packed_bytes;
    Tensor packed = Tensor::empty(t.shape, t.dtype, kCPU);
    copy_into(packed, view);
    return packed;
}

// Sets PyTensor::value for every tensor reachable from `root` (each shared tensor once).
void resolve_tensors(const PyValue& root, const std::string& source, uint64_t copy_budget) {
    std::unordered_set<const void*> seen;
    std::vector<const PyValue*> todo{&root};
    while (!todo.empty()) {
        const PyValue* v = todo.back();
        todo.pop_back();
        if (!v->identity() || !seen.insert(v->identity()).second) continue;
        switch (v->kind()) {
            case Kind::Tensor: {
                PyTensor& t = *v->as_tensor();
                if (!t.value.defined()) t.value = make_tensor(t, source, copy_budget);
                break;
            }
            case Kind::List:
            case Kind::Tuple:
                for (const PyValue& item : v->as_sequence()) todo.push_back(&item);
                break;
            case Kind::Dict:
                for (const auto& [key, value] : v->as_dict().items) {
                    todo.push_back(&key);
                    todo.push_back(&value);
                }
                break;
            case Kind::Object:
                todo.push_back(&v->as_object()->args);
                todo.push_back(&v->as_object()->state);
                break;
            default: break;
        }
    }
}

std::string key_text(const PyValue& key) { return key.is(Kind::String) ? key.as_string() : key.repr(80); }

std::string join(const std::string& prefix, const std::string& name, const std::string& source) {
    WSOL_CHECK(prefix.size() + name.size() < kMaxNameBytes, source, ": entry name '", prefix.substr(0, 60),
               "...' is longer than ", kMaxNameBytes, " bytes");
    return prefix.empty() ? name : prefix + "." + name;
}

// True when a sequence holds something worth naming item by item (a tensor or a container).
bool has_structure(const PyList& items) {
    for (const PyValue& v : items) {
        if (v.is(Kind::Tensor) || v.is(Kind::Dict) || v.is_sequence()) return true;
    }
    return false;
}

void flatten_into(const PyValue& v, const std::string& name, std::vector<std::pair<std::string, PyValue>>& out,
                  size_t& budget, const std::string& source) {
    WSOL_CHECK(budget-- > 0, source, ": the checkpoint object has more than ", kMaxLeaves,
               " entries (or shares containers that many times)");
    if (v.is(Kind::Dict) && v.as_dict().size() > 0) {
        for (const auto& [key, value] : v.as_dict().items) flatten_into(value, join(name, key_text(key), source), out, budget, source);
    } else if (v.is_sequence() && has_structure(v.as_sequence())) {
        const PyList& items = v.as_sequence();
        for (size_t i = 0; i < items.size(); ++i) flatten_into(items[i], join(name, std::to_string(i), source), out, budget, source);
    } else {
        out.emplace_back(name, v);
    }
}

}  // namespace

namespace pth_detail {

// Large buffers are mapped 2 MiB-aligned and marked for
// transparent huge pages: filling 88 MB in 4 KiB pages costs ~22,000 page faults, which dominate
// load time where faults are expensive (measured ~9 us each in a Firecracker VM); huge pages need
// ~45. Small files (and systems without THP) use the ordinary allocator.
std::shared_ptr<Storage> allocate_host_buffer(size_t nbytes) {
    constexpr size_t kHuge = size_t(2) << 20;
    if (nbytes < 2 * kHuge) return Storage::allocate(nbytes, kCPU);
    const size_t length = (nbytes + kHuge - 1) / kHuge * kHuge;
    void* raw = ::mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return Storage::allocate(nbytes, kCPU);
    // Trim the mapping to a 2 MiB-aligned range of `length` bytes.
    const uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + kHuge - 1) / kHuge * kHuge;
    const size_t head = start - reinterpret_cast<uintptr_t>(raw);
    if (head) ::munmap(raw, head);
    if (kHuge - head) ::munmap(reinterpret_cast<void*>(start + length), kHuge - head);
    void* data = reinterpret_cast<void*>(start);
    ::madvise(data, length, MADV_HUGEPAGE);  // advisory: without THP this is plain memory
    return Storage::wrap(data, nbytes, kCPU, [length](void* p) { ::munmap(p, length); });
}

}  // namespace pth_detail

const char* pth_container_name(PthContainer container) {
    switch (container) {
        case PthContainer::Zip: return "zip";
        case PthContainer::Legacy: return "legacy";
        case PthContainer::Tar: return "tar";
    }
    return "?";
}

namespace {

PthFile parse_pth_unguarded(const FileBytes& input, const std::string& source) {
    const std::string_view bytes = input.bytes;
    PthFile file;
    file.source = source;
    if (bytes.size() >= 4 && bytes.substr(0, 2) == "PK" &&
        (bytes.substr(2, 2) == std::string_view("\x03\x04", 2) || bytes.substr(2, 2) == std::string_view("\x05\x06", 2))) {
        file.container = PthContainer::Zip;
        file.object = read_zip_checkpoint(input, source);
    } else if (TarArchive::looks_like_tar(bytes)) {
        file.container = PthContainer::Tar;
        file.object = read_tar_checkpoint(input, source);
    } else if (!bytes.empty() && uint8_t(bytes[0]) == 0x80) {  // a pickle's PROTO opcode
        file.container = PthContainer::Legacy;
        file.object = read_legacy_checkpoint(input, source);
    } else {
        std::string head;
        for (size_t i = 0; i < std::min<size_t>(bytes.size(), 4); ++i) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%02x", uint8_t(bytes[i]));
            if (i) head += ' ';
            head += buf;
        }
        WSOL_FAIL(source, ": not a PyTorch checkpoint (starts with bytes [", head,
                  "]; expected a zip archive, a tar archive or a pickle stream)");
    }
    resolve_tensors(file.object, source, 2 * uint64_t(bytes.size()) + (uint64_t(64) << 20));
    return file;
}

PthFile parse_guarded(const FileBytes& input, const std::string& source) {
    try {
        return parse_pth_unguarded(input, source);
    } catch (const std::bad_alloc&) {
        WSOL_FAIL(source, ": out of memory while reading the checkpoint (", input.bytes.size(), " bytes)");
    }
}

// The whole file in one 64-byte aligned host buffer, read without zero-filling it first, so that
// zip records (64-byte aligned in the file) can become tensors without another copy.
std::shared_ptr<Storage> read_file_aligned(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    WSOL_CHECK(fd >= 0, path, ": cannot open for reading (", std::strerror(errno), ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        WSOL_FAIL(path, ": not a regular file");
    }
    std::shared_ptr<Storage> buffer;
    try {
        buffer = allocate_host_buffer(size_t(st.st_size));
    } catch (...) {
        ::close(fd);
        throw;
    }
    char* data = static_cast<char*>(buffer->data());
    size_t done = 0;
    while (done < buffer->nbytes()) {
        const ssize_t n = ::read(fd, data + done, buffer->nbytes() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : 0;
            ::close(fd);
            WSOL_FAIL(path, ": read ", done, " of ", buffer->nbytes(), " bytes (",
                      err ? std::strerror(err) : "the file shrank while being read", ")");
        }
        done += size_t(n);
    }
    ::close(fd);
    return buffer;
}

}  // namespace

PthFile parse_pth(std::string_view bytes, const std::string& source) { return parse_guarded({bytes, nullptr}, source); }

PthFile read_pth(const std::string& path) {
    std::shared_ptr<Storage> buffer = read_file_aligned(path);
    const std::string_view bytes(static_cast<const char*>(buffer->data()), buffer->nbytes());
    return parse_guarded({bytes, std::move(buffer)}, path);
}

PyValue load_pth(const std::string& path) { return read_pth(path).object; }

NamedTensors pth_state_dict(const PyValue& object, const std::string& source) {
    const PyValue* dict = &object;
    std::string where = "the checkpoint";
    // Unwrap {"model": sd, ...} (DeiT, SAT), {"state_dict": sd, ...}, {"module": sd}.
    while (dict->is(Kind::Dict)) {
        const PyValue* inner = nullptr;
        for (const char* key : {"model", "state_dict", "module"}) {
            const PyValue* v = dict->get(key);
            if (v && v->is(Kind::Dict)) {
                inner = v;
                where = detail::str_cat("'", key, "'");
                break;
            }
        }
        if (!inner) break;
        dict = inner;
    }
    WSOL_CHECK(dict->is(Kind::Dict), source, ": no state dict: the checkpoint is a ", object.type_name(),
               ", not a dict of tensors (nor one under 'model', 'state_dict' or 'module')");
    WSOL_CHECK(dict->as_dict().size() > 0, source, ": the state dict in ", where, " is empty");
    std::vector<std::pair<std::string, PyValue>> leaves;
    size_t budget = kMaxLeaves;
    flatten_into(*dict, "", leaves, budget, source);
    NamedTensors out;
    for (auto& [name, value] : leaves) {
        WSOL_CHECK(value.is(Kind::Tensor), source, ": state dict entry '", name, "' in ", where, " is a ",
                   value.type_name(), " (", value.repr(40), "), not a tensor");
        out.emplace_back(name, value.as_tensor()->value);
    }
    WSOL_CHECK(!out.empty(), source, ": the state dict in ", where, " holds no tensors");
    return out;
}

NamedTensors load_pth_state_dict(const std::string& path) { return pth_state_dict(load_pth(path), path); }

std::vector<std::pair<std::string, PyValue>> flatten_checkpoint(const PyValue& object, const std::string& source) {
    std::vector<std::pair<std::string, PyValue>> out;
    size_t budget = kMaxLeaves;
    flatten_into(object, "", out, budget, source);
    return out;
}

}  // namespace wsol
