// libFuzzer target: the checkpoint reader on arbitrary input, then every tensor it returns is read
// in full, so that a view reaching outside its storage would show up under AddressSanitizer.
// Anything but a result or a wsol::Error is a bug.
//
// Random mutations of a zip almost never keep its CRC-32 right, so inputs starting with "WZ" or
// "WL" are wrapped first, to fuzz the object pickle and storage handling deep inside a container:
//   "WZ" + pickle  -> a valid zip holding it as f/data.pkl, plus records f/data/0..3 of 256 bytes
//   "WL" + rest    -> the legacy stream's magic number, protocol and sys_info pickles, then rest
// Anything else is read as a whole file (zip, tar or legacy stream), from memory.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pth.h"

namespace {

void put_le(std::string& out, uint64_t v, int nbytes) {
    for (int i = 0; i < nbytes; ++i) out += char((v >> (8 * i)) & 0xff);
}

// A stored zip archive of the given members (APPNOTE 4.3: local headers, central directory, end record).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& members) {
    std::string out, directory;
    for (const auto& [name, data] : members) {
        const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
        const uint64_t offset = out.size();
        put_le(out, 0x04034b50, 4);
        put_le(out, 20, 2), put_le(out, 0, 2), put_le(out, 0, 2), put_le(out, 0, 4);  // version, flags, method, time
        put_le(out, crc, 4), put_le(out, data.size(), 4), put_le(out, data.size(), 4);
        put_le(out, name.size(), 2), put_le(out, 0, 2);
        out += name;
        out += data;
        put_le(directory, 0x02014b50, 4);
        put_le(directory, 20, 2), put_le(directory, 20, 2), put_le(directory, 0, 2), put_le(directory, 0, 2);
        put_le(directory, 0, 4), put_le(directory, crc, 4), put_le(directory, data.size(), 4);
        put_le(directory, data.size(), 4), put_le(directory, name.size(), 2), put_le(directory, 0, 2);
        put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 4);
        put_le(directory, offset, 4);
        directory += name;
    }
    const uint64_t directory_offset = out.size();
    out += directory;
    put_le(out, 0x06054b50, 4);
    put_le(out, 0, 2), put_le(out, 0, 2), put_le(out, members.size(), 2), put_le(out, members.size(), 2);
    put_le(out, directory.size(), 4), put_le(out, directory_offset, 4), put_le(out, 0, 2);
    return out;
}

std::string wrap(std::string_view input) {
    if (input.substr(0, 2) == "WZ") {
        std::vector<std::pair<std::string, std::string>> members{{"f/data.pkl", std::string(input.substr(2))}};
        for (int k = 0; k < 4; ++k) {
            std::string record(256, '\0');
            for (size_t i = 0; i < record.size(); ++i) record[i] = char(i * 7 + size_t(k));
            members.emplace_back("f/data/" + std::to_string(k), record);
        }
        return make_zip(members);
    }
    if (input.substr(0, 2) == "WL") {
        // magic number 0x1950a86a20f9469cfc6c (LONG1), protocol version 1001 (BININT2), sys_info {}
        std::string out("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
        out += std::string("\x80\x02M\xe9\x03.", 6);
        out += std::string("\x80\x02}.", 4);
        out += input.substr(2);
        return out;
    }
    return std::string(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes = wrap(std::string_view(reinterpret_cast<const char*>(data), size));
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
