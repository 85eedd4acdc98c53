// libFuzzer target: the strict unpickler on arbitrary bytes. Persistent ids that look like torch
// storage references become storages, so the tensor-rebuilding paths run too. Any outcome but a
// value or a wsol::Error (a crash, a sanitizer report, a leak, a hang) is a bug.
#include <cstdint>
#include <string_view>

#include "engine/pickle.h"
#include "engine/pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const wsol::PersistentLoader loader = [](const wsol::PyValue& pid) {
        auto storage = std::make_shared<wsol::PyStorage>();
        if (pid.is(wsol::PyValue::Kind::Tuple) && pid.as_sequence().size() >= 5) {
            const wsol::PyList& id = pid.as_sequence();
            storage->dtype = wsol::torch_storage_dtype(id[1], "fuzz");
            storage->numel = id[4].as_int();
        }
        return wsol::PyValue::storage(storage);
    };
    try {
        size_t pos = 0;
        while (pos < bytes.size()) {  // like the legacy format: pickles back to back
            const wsol::PyValue value = wsol::unpickle(bytes, pos, "fuzz", loader);
            (void)value.repr(4096);
            (void)wsol::flatten_checkpoint(value, "fuzz");
        }
    } catch (const wsol::Error&) {
    }
    return 0;
}
