// Reading PyTorch checkpoints (.pth / .pt / .bin / .pth.tar) without Python or libtorch.
//
// torch.save has written three containers over the years, and public checkpoints use all three
// (../shared/reference/checkpoints.md, sections 1-2):
//   zip     torch >= 1.6: <prefix>/data.pkl holds the pickled object, <prefix>/data/<key> the raw
//           bytes of each storage (DeiT-S, torchvision's current weights).
//   legacy  torch 0.1.10 - 1.5, or _use_new_zipfile_serialization=False (SAT): five pickles back to
//           back (magic number, protocol version, sys_info, the object, the storage keys), then each
//           storage as an int64 element count and its bytes.
//   tar     torch <= 0.1.9 (torchvision's resnet50-19c8e357.pth): members sys_info, pickle, tensors,
//           storages; tensors are described in their own table and named by id in the pickle.
// The container is detected from the bytes, never from the file name. The object is unpickled by
// the strict, allow-listed interpreter of engine/pickle.h, so a checkpoint can never run code.
// Tensors are rebuilt from storage, dtype, offset, size and stride: tensors that share a storage
// share it here too (contiguous views stay views); non-contiguous ones are copied into packed
// row-major tensors. Everything is read onto the CPU ("cuda:0" locations are ignored), little-endian
// only. Every size, offset and member is checked; errors name the file and the member or offset.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/pickle.h"
#include "engine/safetensors.h"

namespace wsol {

enum class PthContainer { Zip, Legacy, Tar };
// "zip", "legacy", "tar".
const char* pth_container_name(PthContainer container);

struct PthFile {
    PthContainer container = PthContainer::Zip;
    // What torch.load would return, as data; every PyTensor in it has its `value` set.
    PyValue object;
    std::string source;  // the path, for messages
};

// Reads the whole file into one host buffer. Tensors of a zip checkpoint point into that buffer
// (torch aligns every record to 64 bytes), so it stays alive while any of them does; the legacy
// stream's storages are copied into one arena; tar storages are shared when aligned, else copied.
PthFile read_pth(const std::string& path);
// The same for bytes already in memory (`source` names them in errors; storages are copied out,
// the caller keeps its bytes). Used by the fuzzers.
PthFile parse_pth(std::string_view bytes, const std::string& source);
// read_pth(path).object
PyValue load_pth(const std::string& path);

// The state dict inside a checkpoint object: the object itself when it is a dict of tensors,
// otherwise the dict under "model", "state_dict" or "module" (first present; repeated while the
// chosen dict is again such a wrapper). Nested dicts are flattened with their names joined by
// "."; the file's key order is kept. Throws naming `source` when there is no state dict or an
// entry is not a tensor.
NamedTensors pth_state_dict(const PyValue& object, const std::string& source);
NamedTensors load_pth_state_dict(const std::string& path);

// Every leaf of a checkpoint object with its dotted name, in file order: tensors, numbers,
// strings, None, opaque objects (argparse.Namespace) and empty containers. Dict keys that are not
// str are written with repr; list and tuple items by index. For listing a file's contents.
std::vector<std::pair<std::string, PyValue>> flatten_checkpoint(const PyValue& object, const std::string& source);

}  // namespace wsol
