// safetensors: the tensor file format of Hugging Face (and timm), read and written exactly as its
// reference implementation specifies (../shared/reference/checkpoints.md, section 4):
//
//   [8 bytes] N, little-endian u64     - length of the JSON header
//   [N bytes] JSON {"name": {"dtype": "F32", "shape": [2,3], "data_offsets": [0, 24]}, ...,
//                   "__metadata__": {"key": "value"}}
//   [rest]    raw little-endian row-major data; offsets are relative to the start of this part
//
// The reader checks everything the reference reader checks (no duplicate names, data ranges
// contiguous from 0 without holes, byte counts matching shapes, file size) and names the file and
// tensor in every error. It is fuzzed (tests/fuzz).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace wsol {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct TensorFile {
    NamedTensors tensors;                         // in file (data offset) order
    std::map<std::string, std::string> metadata;  // the __metadata__ map

    bool contains(const std::string& name) const;
    // The tensor called `name`; throws naming `source` and the missing name.
    const Tensor& at(const std::string& name) const;
    std::string source;  // path or description, for error messages
};

TensorFile load_safetensors(const std::string& path);
// Parses bytes already in memory; `source` names them in errors.
TensorFile parse_safetensors(std::string_view bytes, const std::string& source);

// Writes atomically (temporary file, fsync, rename). Tensors may be on any device and strided;
// they are stored contiguous. Names must be unique.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});

// "F32" <-> kFloat32 and so on, for the dtypes wsol tensors have.
const char* safetensors_dtype_name(DType dtype);

}  // namespace wsol
