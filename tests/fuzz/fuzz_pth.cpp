// libFuzzer target: the checkpoint reader (all three containers, detected from the bytes) on
// arbitrary input, then every tensor it returns is read in full, so that a view reaching outside
// its storage would show up under AddressSanitizer. Anything but a result or a wsol::Error is a bug.
#include <cstdint>
#include <string_view>

#include "engine/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const wsol::PthFile file = wsol::parse_pth(bytes, "fuzz.pth");
        for (const auto& [name, value] : wsol::flatten_checkpoint(file.object, file.source)) {
            (void)name;
            if (!value.is(wsol::PyValue::Kind::Tensor)) {
                (void)value.repr(256);
                continue;
            }
            const wsol::Tensor& t = value.as_tensor()->value;
            wsol::Tensor packed = wsol::Tensor::empty(t.shape(), t.dtype());
            wsol::copy_into(packed, t);
        }
        (void)wsol::pth_state_dict(file.object, file.source);
    } catch (const wsol::Error&) {
    }
    return 0;
}
