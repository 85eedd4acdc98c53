// Between the container readers (pth_containers.cpp) and the front end (pth.cpp); not a public header.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/pyvalue.h"

namespace wsol::pth_detail {

// A checkpoint's bytes, and the host buffer holding them when storages may point into it.
struct FileBytes {
    std::string_view bytes;
    std::shared_ptr<Storage> owner;  // null when the bytes belong to the caller: storages copy
};

// Each reader returns the unpickled object with every storage's bytes loaded; pth.cpp then turns
// the PyTensors into tensors.
PyValue read_zip_checkpoint(const FileBytes& file, const std::string& source);
PyValue read_legacy_checkpoint(const FileBytes& file, const std::string& source);
PyValue read_tar_checkpoint(const FileBytes& file, const std::string& source);

// The storage for `data` (a range of the file, or of a scratch buffer): it shares the file's
// buffer when `data` lies inside it at an address aligned for `dtype` (torch's zip records are
// 64-byte aligned), which saves a copy and keeps the whole file in memory while any of its
// tensors lives; otherwise it is a copy. (The legacy reader copies into one arena instead: its
// blobs are packed back to back, mostly unaligned.)
std::shared_ptr<Storage> storage_for(std::string_view data, DType dtype, const FileBytes& file);
// A 64-byte aligned host buffer of `nbytes`; large ones use transparent huge pages (pth.cpp).
std::shared_ptr<Storage> allocate_host_buffer(size_t nbytes);
// numel * itemsize, or an error naming `what` when it overflows.
uint64_t storage_nbytes(int64_t numel, DType dtype, const std::string& what);

}  // namespace wsol::pth_detail
