// The three container readers behind engine/pth.h. Each runs the strict unpickler with a
// persistent_load that maps torch's storage ids to PyStorages and loads their bytes, following
// torch/serialization.py (_load for zip, _legacy_load for the legacy stream and for tar).
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "engine/pickle.h"
#include "engine/pth_internal.h"
#include "engine/tar.h"
#include "engine/zip.h"

namespace wsol::pth_detail {

namespace {

using Kind = PyValue::Kind;
using StorageMap = std::unordered_map<std::string, std::shared_ptr<PyStorage>>;

// The magic number that opens a legacy stream: 0x1950a86a20f9469cfc6c as little-endian bytes.
constexpr char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
constexpr int64_t kLegacyProtocol = 1001;

// The id of a legacy/tar storage or tensor: an int (_cdata) in the tables, its decimal string in
// persistent ids, so both are keyed by the decimal text.
std::string id_text(const PyValue& v, const std::string& what) {
    if (v.is(Kind::Int)) return std::to_string(v.as_int());
    if (v.is(Kind::BigInt)) return v.repr();
    WSOL_CHECK(v.is(Kind::String), what, " must be an int or str id, got ", v.type_name());
    return v.as_string();
}

int64_t read_i64(std::string_view data, size_t& pos, const std::string& what) {
    WSOL_CHECK(data.size() - pos >= 8, what, ": truncated at offset ", pos, " (needs 8 bytes, ", data.size() - pos,
               " left)");
    uint64_t u = 0;
    for (int i = 7; i >= 0; --i) u = (u << 8) | uint8_t(data[pos + size_t(i)]);
    pos += 8;
    return int64_t(u);
}

void check_little_endian(const PyValue& sys_info, const std::string& what) {
    const PyValue* little = sys_info.get("little_endian");
    WSOL_CHECK(!little || !little->is(Kind::Bool) || little->as_bool(), what,
               ": the checkpoint was written on a big-endian machine, which is not supported");
}

const PyList& tuple_items(const PyValue& v, size_t n, const std::string& what) {
    WSOL_CHECK(v.is(Kind::Tuple) && v.as_sequence().size() == n, what, " must be a ", n, "-tuple, got ", v.repr(80));
    return v.as_sequence();
}

// A storage view (old legacy and tar files): elements [offset, offset + numel) of `root`.
std::shared_ptr<PyStorage> make_view(const std::shared_ptr<PyStorage>& root, std::string key, int64_t offset,
                                     int64_t numel, const std::string& what) {
    WSOL_CHECK(offset >= 0 && numel >= 0 && offset <= root->numel && numel <= root->numel - offset, what,
               ": view [", offset, ", +", numel, ") lies outside storage '", root->key, "' of ", root->numel,
               " elements");
    auto view = std::make_shared<PyStorage>(*root);
    view->key = std::move(key);
    view->numel = numel;
    view->data.reset();
    view->root = root;
    view->root_offset = offset;
    return view;
}

}  // namespace

std::shared_ptr<Storage> storage_for(std::string_view data, DType dtype, const FileBytes& file) {
    const char* begin = file.bytes.data();
    const bool inside = file.owner && data.data() >= begin && data.data() + data.size() <= begin + file.bytes.size();
    if (inside && reinterpret_cast<uintptr_t>(data.data()) % dtype_size(dtype) == 0) {
        std::shared_ptr<Storage> owner = file.owner;  // the view keeps the file's buffer alive
        return Storage::wrap(const_cast<char*>(data.data()), data.size(), kCPU, [owner](void*) {});
    }
    auto storage = Storage::allocate(data.size(), kCPU);
    if (!data.empty()) std::memcpy(storage->data(), data.data(), data.size());
    return storage;
}

uint64_t storage_nbytes(int64_t numel, DType dtype, const std::string& what) {
    uint64_t n = 0;
    WSOL_CHECK(numel >= 0 && !__builtin_mul_overflow(uint64_t(numel), uint64_t(dtype_size(dtype)), &n), what,
               ": storage of ", numel, " elements is out of range");
    return n;
}

// ---- zip (torch >= 1.6) ------------------------------------------------------------------------

PyValue read_zip_checkpoint(const FileBytes& file, const std::string& source) {
    ZipArchive zip(file.bytes, source);
    WSOL_CHECK(!zip.entries().empty(), source, ": the zip archive is empty");
    // All records live under one folder whose name varies (the file's stem, or "archive"); like
    // torch's own reader, take it from the first member.
    const std::string& first = zip.entries().front().name;
    const size_t slash = first.find('/');
    WSOL_CHECK(slash != std::string::npos && slash > 0, source, ": not a torch checkpoint: first zip member '", first,
               "' is not inside a folder");
    const std::string prefix = first.substr(0, slash + 1);
    std::string scratch;
    if (const ZipArchive::Entry* order = zip.find(prefix + "byteorder")) {
        const std::string_view text = zip.read(*order, scratch);
        WSOL_CHECK(text == "little", source, ": member '", order->name, "' says '", text.substr(0, 16),
                   "': only little-endian checkpoints are supported");
    }
    const ZipArchive::Entry* pkl = zip.find(prefix + "data.pkl");
    WSOL_CHECK(pkl != nullptr, source, ": not a torch checkpoint: no member '", prefix, "data.pkl' in the zip archive");
    std::string pkl_scratch;
    const std::string_view program = zip.read(*pkl, pkl_scratch);

    StorageMap storages;
    const PersistentLoader loader = [&](const PyValue& pid) -> PyValue {
        // ('storage', <X>Storage, key, location, numel); the bytes are the record data/<key>.
        const std::string what = source + ": " + pkl->name + ": persistent id";
        const PyList& id = tuple_items(pid, 5, what);
        WSOL_CHECK(id[0].is(Kind::String) && id[0].as_string() == "storage", what, " ", pid.repr(80),
                   " is not a storage reference");
        WSOL_CHECK(id[2].is(Kind::String) && id[3].is(Kind::String) && id[4].is(Kind::Int), what, " ", pid.repr(80),
                   " must be ('storage', type, key: str, location: str, numel: int)");
        const std::string& key = id[2].as_string();
        const std::string name = prefix + "data/" + key;
        const DType dtype = torch_storage_dtype(id[1], source + ": storage '" + name + "'");
        const int64_t numel = id[4].as_int();
        if (auto it = storages.find(key); it != storages.end()) {
            WSOL_CHECK(it->second->dtype == dtype && it->second->numel == numel, source, ": storage '", name,
                       "' is referenced as ", it->second->numel, " ", dtype_name(it->second->dtype), " and as ", numel,
                       " ", dtype_name(dtype));
            return PyValue::storage(it->second);
        }
        const ZipArchive::Entry* record = zip.find(name);
        WSOL_CHECK(record != nullptr, source, ": missing zip member '", name, "' (the data of a storage)");
        const uint64_t nbytes = storage_nbytes(numel, dtype, source + ": '" + name + "'");
        WSOL_CHECK(record->size >= nbytes, source, ": member '", name, "' holds ", record->size, " bytes but its storage of ",
                   numel, " ", dtype_name(dtype), " needs ", nbytes, " (storage shorter than declared)");
        auto s = std::make_shared<PyStorage>();
        s->key = key;
        s->type_name = id[1].as_string();
        s->dtype = dtype;
        s->numel = numel;
        s->location = id[3].as_string();
        std::string record_scratch;
        // zip.read checks the record's CRC-32 (a pass over every byte, ~15 ms for DeiT-S; torch skips it).
        s->data = storage_for(zip.read(*record, record_scratch).substr(0, size_t(nbytes)), dtype, file);
        storages.emplace(key, s);
        return PyValue::storage(std::move(s));
    };
    return unpickle(program, source + ": " + pkl->name, loader);
}

// ---- legacy stream (torch 0.1.10 - 1.5, or _use_new_zipfile_serialization=False) ------------------

PyValue read_legacy_checkpoint(const FileBytes& file, const std::string& source) {
    const std::string_view bytes = file.bytes;
    size_t pos = 0;
    const PyValue magic = unpickle(bytes, pos, source + ": magic number");
    WSOL_CHECK(magic.is(Kind::BigInt) && magic.as_string() == std::string_view(kLegacyMagic, 10), source,
               ": bad magic number ", magic.repr(40), " (not a PyTorch checkpoint, or a corrupt one)");
    const PyValue protocol = unpickle(bytes, pos, source + ": protocol version");
    WSOL_CHECK(protocol.is(Kind::Int) && protocol.as_int() == kLegacyProtocol, source, ": legacy protocol version ",
               protocol.repr(40), ", expected ", kLegacyProtocol);
    const PyValue sys_info = unpickle(bytes, pos, source + ": sys_info");
    WSOL_CHECK(sys_info.is(Kind::Dict), source, ": sys_info is a ", sys_info.type_name(), ", expected a dict");
    check_little_endian(sys_info, source);

    StorageMap roots, views;
    const std::string object_source = source + ": object pickle";
    const PersistentLoader loader = [&](const PyValue& pid) -> PyValue {
        // ('storage', <X>Storage, root_key, location, numel, view_metadata)
        const std::string what = object_source + ": persistent id";
        const PyList& id = tuple_items(pid, 6, what);
        WSOL_CHECK(id[0].is(Kind::String) && id[0].as_string() == "storage", what, " ", pid.repr(80),
                   " is not a storage reference");
        WSOL_CHECK(id[2].is(Kind::String) && id[3].is(Kind::String) && id[4].is(Kind::Int), what, " ", pid.repr(80),
                   " must be ('storage', type, key: str, location: str, numel: int, view)");
        const std::string& key = id[2].as_string();
        const DType dtype = torch_storage_dtype(id[1], source + ": storage '" + key + "'");
        const int64_t numel = id[4].as_int();
        std::shared_ptr<PyStorage>& root = roots[key];
        if (!root) {
            storage_nbytes(numel, dtype, source + ": storage '" + key + "'");
            root = std::make_shared<PyStorage>();
            root->key = key;
            root->type_name = id[1].as_string();
            root->dtype = dtype;
            root->numel = numel;
            root->location = id[3].as_string();
        }
        WSOL_CHECK(root->dtype == dtype && root->numel == numel, source, ": storage '", key, "' is referenced as ",
                   root->numel, " ", dtype_name(root->dtype), " and as ", numel, " ", dtype_name(dtype));
        if (id[5].is_none()) return PyValue::storage(root);
        // (view_key, offset, view_size): a slice of the root storage, in elements.
        const PyList& view = tuple_items(id[5], 3, what + " view");
        WSOL_CHECK(view[0].is(Kind::String) && view[1].is(Kind::Int) && view[2].is(Kind::Int), what, " view ",
                   id[5].repr(80), " must be (key, offset, size)");
        std::shared_ptr<PyStorage>& v = views[view[0].as_string()];
        if (!v) v = make_view(root, view[0].as_string(), view[1].as_int(), view[2].as_int(), source);
        return PyValue::storage(v);
    };
    PyValue object = unpickle(bytes, pos, object_source, loader);
    const PyValue keys = unpickle(bytes, pos, source + ": storage key list");
    WSOL_CHECK(keys.is_sequence(), source, ": the storage key list is a ", keys.type_name());

    // The storages' bytes follow, in the order of the key list: int64 element count, then the data.
    // They are packed back to back, so mostly misaligned: copy them into one arena (64-byte aligned
    // slots), which needs one large allocation instead of one per storage.
    struct Slot {
        PyStorage* storage;
        uint64_t offset;
    };
    std::vector<Slot> slots;
    std::unordered_set<const PyStorage*> listed;
    uint64_t arena_bytes = 0, file_bytes = 0;
    for (const PyValue& k : keys.as_sequence()) {
        WSOL_CHECK(k.is(Kind::String), source, ": storage key ", k.repr(40), " is not a str");
        auto it = roots.find(k.as_string());
        WSOL_CHECK(it != roots.end(), source, ": storage '", k.as_string(), "' is listed but not used by the pickle");
        WSOL_CHECK(listed.insert(it->second.get()).second, source, ": storage '", k.as_string(),
                   "' is listed twice");
        // Each blob takes 8 + nbytes bytes of what is left of the file: check before allocating.
        const uint64_t nbytes = storage_nbytes(it->second->numel, it->second->dtype, source);
        WSOL_CHECK(nbytes <= bytes.size() - pos && file_bytes + 8 + nbytes <= bytes.size() - pos, source,
                   ": the storages listed need more than the ", bytes.size() - pos, " bytes left after offset ", pos,
                   " (truncated file?)");
        file_bytes += 8 + nbytes;
        slots.push_back({it->second.get(), arena_bytes});
        arena_bytes += (nbytes + 63) / 64 * 64;
    }
    const std::shared_ptr<Storage> arena = allocate_host_buffer(size_t(arena_bytes));
    for (const Slot& slot : slots) {
        PyStorage& s = *slot.storage;
        const std::string what = source + ": storage '" + s.key + "'";
        const size_t at = pos;
        const int64_t count = read_i64(bytes, pos, what);
        WSOL_CHECK(count == s.numel, what, " at offset ", at, " holds ", count, " elements but the pickle declares ",
                   s.numel);
        const uint64_t nbytes = storage_nbytes(count, s.dtype, what);
        WSOL_CHECK(nbytes <= bytes.size() - pos, what, ": truncated at offset ", pos, " (needs ", nbytes, " bytes, ",
                   bytes.size() - pos, " left)");
        char* dst = static_cast<char*>(arena->data()) + slot.offset;
        if (nbytes) std::memcpy(dst, bytes.data() + pos, size_t(nbytes));
        s.data = Storage::wrap(dst, size_t(nbytes), kCPU, [arena](void*) {});  // each keeps the arena alive
        pos += size_t(nbytes);
    }
    return object;
}

// ---- tar (torch <= 0.1.9) -------------------------------------------------------------------------

PyValue read_tar_checkpoint(const FileBytes& file, const std::string& source) {
    TarArchive tar(file.bytes, source);
    auto member = [&](const char* name) {
        const TarArchive::Member* m = tar.find(name);
        WSOL_CHECK(m != nullptr, source, ": missing tar member '", name, "'");
        return tar.read(*m);
    };
    if (tar.find("sys_info")) {
        const PyValue sys_info = unpickle(member("sys_info"), source + ": sys_info");
        check_little_endian(sys_info, source + ": sys_info");
    }

    // storages: count, then per storage (key, location, <X>Storage) + int64 count + bytes; then the views.
    StorageMap storages;
    {
        const std::string src = source + ": storages";
        const std::string_view data = member("storages");
        size_t pos = 0;
        const PyValue count = unpickle(data, pos, src);
        WSOL_CHECK(count.is(Kind::Int) && count.as_int() >= 0 && uint64_t(count.as_int()) <= data.size() / 8, src,
                   ": bad storage count ", count.repr(40));
        for (int64_t i = 0; i < count.as_int(); ++i) {
            const PyValue header = unpickle(data, pos, src);
            const PyList& h = tuple_items(header, 3, src + ": storage header");
            auto s = std::make_shared<PyStorage>();
            s->key = id_text(h[0], src + ": storage key");
            s->location = h[1].is(Kind::String) ? h[1].as_string() : "";
            s->type_name = h[2].is(Kind::Global) ? h[2].as_string() : h[2].type_name();
            s->dtype = torch_storage_dtype(h[2], src + ": storage '" + s->key + "'");
            const std::string what = src + ": storage '" + s->key + "'";
            s->numel = read_i64(data, pos, what);
            const uint64_t nbytes = storage_nbytes(s->numel, s->dtype, what);
            WSOL_CHECK(nbytes <= data.size() - pos, what, ": truncated at offset ", pos, " of the member (needs ",
                       nbytes, " bytes, ", data.size() - pos, " left)");
            s->data = storage_for(data.substr(pos, size_t(nbytes)), s->dtype, file);
            pos += size_t(nbytes);
            WSOL_CHECK(storages.emplace(s->key, s).second, what, " appears twice");
        }
        const PyValue views = unpickle(data, pos, src);
        WSOL_CHECK(views.is_sequence(), src, ": the view list is a ", views.type_name());
        for (const PyValue& v : views.as_sequence()) {
            // (view key, root key, offset, size)
            const PyList& t = tuple_items(v, 4, src + ": storage view");
            const std::string root_key = id_text(t[1], src + ": view root");
            auto root = storages.find(root_key);
            WSOL_CHECK(root != storages.end() && !root->second->root, src, ": view of unknown storage '", root_key, "'");
            WSOL_CHECK(t[2].is(Kind::Int) && t[3].is(Kind::Int), src, ": view offset and size must be ints");
            std::string key = id_text(t[0], src + ": view key");
            auto view = make_view(root->second, key, t[2].as_int(), t[3].as_int(), src);
            WSOL_CHECK(storages.emplace(key, view).second, src, ": storage '", key, "' appears twice");
        }
    }

    // tensors: count, then per tensor (key, storage key, <X>Tensor) + ndim (int32 + 4 padding bytes),
    // sizes, strides and storage offset as int64.
    std::unordered_map<std::string, std::shared_ptr<PyTensor>> tensors;
    {
        const std::string src = source + ": tensors";
        const std::string_view data = member("tensors");
        size_t pos = 0;
        const PyValue count = unpickle(data, pos, src);
        WSOL_CHECK(count.is(Kind::Int) && count.as_int() >= 0 && uint64_t(count.as_int()) <= data.size() / 16, src,
                   ": bad tensor count ", count.repr(40));
        for (int64_t i = 0; i < count.as_int(); ++i) {
            const PyValue header = unpickle(data, pos, src);
            const PyList& h = tuple_items(header, 3, src + ": tensor header");
            const std::string key = id_text(h[0], src + ": tensor key");
            const std::string what = src + ": tensor '" + key + "'";
            auto t = std::make_shared<PyTensor>();
            if (h[1].is_none()) {
                // A tensor without storage (empty): its dtype comes from its class.
                t->storage = std::make_shared<PyStorage>();
                t->storage->key = key;
                t->storage->dtype = torch_tensor_type_dtype(h[2], what);
                t->storage->data = Storage::allocate(0, kCPU);
            } else {
                const std::string storage_key = id_text(h[1], what + " storage key");
                auto s = storages.find(storage_key);
                WSOL_CHECK(s != storages.end(), what, ": unknown storage '", storage_key, "'");
                t->storage = s->second;
            }
            t->dtype = t->storage->dtype;
            const int64_t ndim = int32_t(uint32_t(read_i64(data, pos, what)));  // low 4 bytes; the rest is padding
            WSOL_CHECK(ndim >= 0 && ndim <= 64, what, ": bad number of dimensions ", ndim);
            t->shape.resize(size_t(ndim));
            t->strides.resize(size_t(ndim));
            for (int64_t& s : t->shape) s = read_i64(data, pos, what);
            for (int64_t& s : t->strides) s = read_i64(data, pos, what);
            t->offset = read_i64(data, pos, what);
            for (size_t d = 0; d < t->shape.size(); ++d) {
                WSOL_CHECK(t->shape[d] >= 0 && t->strides[d] >= 0, what, ": negative size or stride in ",
                           shape_str(t->shape), " / ", shape_str(t->strides));
            }
            WSOL_CHECK(t->offset >= 0, what, ": negative storage offset ", t->offset);
            WSOL_CHECK(tensors.emplace(key, std::move(t)).second, what, " appears twice");
        }
    }

    // pickle: the object; a persistent id is the decimal id of a tensor (or a storage).
    const std::string src = source + ": pickle";
    const PersistentLoader loader = [&](const PyValue& pid) -> PyValue {
        WSOL_CHECK(!pid.is_sequence(), src, ": persistent id ", pid.repr(80),
                   " refers to a pickled module class, which is not supported");
        const std::string key = id_text(pid, src + ": persistent id");
        if (auto t = tensors.find(key); t != tensors.end()) return PyValue::tensor(t->second);
        if (auto s = storages.find(key); s != storages.end()) return PyValue::storage(s->second);
        WSOL_FAIL(src, ": persistent id '", key, "' names no tensor or storage of the archive");
    };
    return unpickle(member("pickle"), src, loader);
}

}  // namespace wsol::pth_detail
