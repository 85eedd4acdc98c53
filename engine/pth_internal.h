// Between the container readers (pth_containers.cpp) and the front end (pth.cpp); not a public header.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/pyvalue.h"

namespace wsol::pth_detail {

// Each reader returns the unpickled object with every storage's bytes loaded; pth.cpp then turns
// the PyTensors into tensors.
PyValue read_zip_checkpoint(std::string_view bytes, const std::string& source);
PyValue read_legacy_checkpoint(std::string_view bytes, const std::string& source);
PyValue read_tar_checkpoint(std::string_view bytes, const std::string& source);

// A CPU storage holding a copy of `bytes` (checkpoint data is not aligned in general: legacy
// blobs are packed back to back).
std::shared_ptr<Storage> copy_to_storage(std::string_view bytes);
// numel * itemsize, or an error naming `what` when it overflows.
uint64_t storage_nbytes(int64_t numel, DType dtype, const std::string& what);

}  // namespace wsol::pth_detail
