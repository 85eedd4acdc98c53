// wsol's checkpoint format: one safetensors file whose tensors are grouped by a prefix
//   "model.<name>"  the module's state_dict (parameters and persistent buffers)
//   "optim.<name>"  optimizer state (nn/optim.h), training checkpoints only
//   "extra.<name>"  anything else a caller wants to keep (e.g. a loader's permutation)
// and whose __metadata__ holds one entry "wsol": a JSON object describing the model (format,
// version, architecture, method, num_classes, preprocessing) and, for training checkpoints, where
// training stands (epoch, step, RNG state, ...). Any safetensors reader can open it; the JSON says
// what it is. Writes are atomic: a crash never leaves a half-written checkpoint.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/safetensors.h"

namespace wsol::nn {

inline constexpr const char* kCheckpointFormat = "wsol-checkpoint";
inline constexpr int kCheckpointVersion = 1;

struct Checkpoint {
    NamedTensors model;
    NamedTensors optim;
    NamedTensors extra;
    nlohmann::json meta = nlohmann::json::object();  // always has "format" and "version"
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws naming the file when it is not a wsol checkpoint or has a newer version.
Checkpoint load_checkpoint(const std::string& path);
// True when the file is a safetensors file carrying wsol metadata.
bool is_wsol_checkpoint(const std::string& path);

}  // namespace wsol::nn
