// What wsol-convert needs from a checkpoint file of either kind: a PyTorch .pth (any container) or
// a safetensors file, told apart by content. Listing and the key-map step live here so that
// main.cpp stays argument parsing.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "engine/pth.h"
#include "engine/safetensors.h"

namespace wsol::convert {

struct CheckpointFile {
    std::string path;
    std::string kind;  // "safetensors", "PyTorch zip (torch >= 1.6)", "PyTorch legacy stream (...)", ...
    std::optional<PthFile> pth;
    std::optional<TensorFile> safetensors;
};

// Reads `path`, deciding from its bytes whether it is safetensors or a PyTorch checkpoint.
CheckpointFile read_checkpoint(const std::string& path);

// Prints the container kind, then every tensor (name, dtype, shape) and every other entry
// ("epoch: 30") in file order, then totals.
void list_checkpoint(const CheckpointFile& file, std::ostream& out);

// The tensors to convert: a .pth's state dict (engine/pth.h: pth_state_dict) or all tensors of a
// safetensors file, in file order.
NamedTensors checkpoint_tensors(const CheckpointFile& file);

// A key map renames each source key to the model's key, or drops it (nullopt). Model-specific maps
// (DeiT, SAT, ResNet-50 -> wsol models) plug in here; --raw is the identity.
using KeyMap = std::function<std::optional<std::string>(const std::string&)>;
KeyMap identity_key_map();
// Removes `prefix` from the keys that start with it (e.g. "module." from DataParallel checkpoints).
KeyMap strip_prefix_key_map(std::string prefix);
// Applies `map`; throws naming `source` when two keys map to the same name.
NamedTensors apply_key_map(const NamedTensors& tensors, const KeyMap& map, const std::string& source);

}  // namespace wsol::convert
