// libFuzzer target: the safetensors reader on arbitrary input; whatever it accepts must write back
// and read again to the same names. Anything but a result or a wsol::Error is a bug.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const wsol::TensorFile file = wsol::parse_safetensors(bytes, "fuzz.safetensors");
        const std::string again = wsol::serialize_safetensors(file.tensors, file.metadata);
        const wsol::TensorFile round = wsol::parse_safetensors(again, "round trip");
        if (round.tensors.size() != file.tensors.size() || round.metadata != file.metadata) std::abort();
        for (const auto& [name, tensor] : file.tensors) {
            if (!round.contains(name) || round.at(name).shape() != tensor.shape()) std::abort();
        }
    } catch (const wsol::Error&) {
    }
    return 0;
}
