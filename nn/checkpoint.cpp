#include "nn/checkpoint.h"

#include "engine/file_util.h"

namespace wsol::nn {

namespace {
const char* kPrefixes[] = {"model.", "optim.", "extra."};
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
    NamedTensors all;
    const NamedTensors* groups[] = {&checkpoint.model, &checkpoint.optim, &checkpoint.extra};
    for (int g = 0; g < 3; ++g) {
        for (const auto& [name, t] : *groups[g]) all.emplace_back(kPrefixes[g] + name, t);
    }
    nlohmann::json meta = checkpoint.meta;
    meta["format"] = kCheckpointFormat;
    meta["version"] = kCheckpointVersion;
    save_safetensors(path, all, {{"wsol", meta.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
    TensorFile file = load_safetensors(path);
    auto it = file.metadata.find("wsol");
    WSOL_CHECK(it != file.metadata.end(), path, ": not a wsol checkpoint (no 'wsol' metadata); convert public "
               "checkpoints with wsol-convert");
    Checkpoint out;
    try {
        out.meta = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        WSOL_FAIL(path, ": the 'wsol' metadata is not valid JSON: ", e.what());
    }
    WSOL_CHECK(out.meta.is_object() && out.meta.value("format", "") == kCheckpointFormat, path,
               ": the 'wsol' metadata does not describe a ", kCheckpointFormat);
    const int version = out.meta.value("version", 0);
    WSOL_CHECK(version >= 1 && version <= kCheckpointVersion, path, ": checkpoint version ", version,
               " is not supported by this build (supports up to ", kCheckpointVersion, ")");
    NamedTensors* groups[] = {&out.model, &out.optim, &out.extra};
    for (auto& [name, t] : file.tensors) {
        bool placed = false;
        for (int g = 0; g < 3 && !placed; ++g) {
            const std::string prefix = kPrefixes[g];
            if (name.rfind(prefix, 0) == 0) {
                groups[g]->emplace_back(name.substr(prefix.size()), t);
                placed = true;
            }
        }
        WSOL_CHECK(placed, path, ": tensor '", name, "' has none of the prefixes model., optim., extra.");
    }
    // safetensors stores tensors sorted by dtype size and name; keep model entries in that order
    // (load_state_dict matches by name, so order does not matter).
    return out;
}

bool is_wsol_checkpoint(const std::string& path) {
    try {
        TensorFile file = load_safetensors(path);
        return file.metadata.count("wsol") > 0;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace wsol::nn
