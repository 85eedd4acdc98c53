// libFuzzer target for the .npy reader (engine/npy.h). Any input must either parse or throw
// wsol::Error; a parsed array must survive a write/read round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    wsol::Tensor t;
    try {
        t = wsol::parse_npy(bytes, "fuzz.npy");
    } catch (const wsol::Error&) {
        return 0;
    }
    const std::string written = wsol::serialize_npy(t);
    const wsol::Tensor back = wsol::parse_npy(written, "roundtrip.npy");
    if (back.shape() != t.shape() || back.dtype() != t.dtype() ||
        std::memcmp(back.raw_data(), t.raw_data(), size_t(t.numel()) * t.element_size()) != 0) {
        __builtin_trap();
    }
    return 0;
}
