#include "engine/tar.h"

#include <algorithm>

#include "engine/error.h"

namespace wsol {

namespace {

constexpr size_t kBlock = 512;

// A NUL-terminated text field of a fixed width.
std::string_view field(std::string_view header, size_t at, size_t width) {
    std::string_view f = header.substr(at, width);
    const size_t nul = f.find('\0');
    return nul == std::string_view::npos ? f : f.substr(0, nul);
}

// A numeric field: octal digits (padded with spaces/NULs), or GNU base-256 when the top bit is set.
bool parse_number(std::string_view f, uint64_t& out) {
    out = 0;
    if (!f.empty() && (uint8_t(f[0]) & 0x80)) {
        if (uint8_t(f[0]) & 0x40) return false;  // negative
        for (size_t i = 0; i < f.size(); ++i) {
            const uint8_t byte = i == 0 ? uint8_t(f[0]) & 0x7f : uint8_t(f[i]);
            if (out >> 56) return false;
            out = (out << 8) | byte;
        }
        return true;
    }
    size_t i = 0;
    while (i < f.size() && f[i] == ' ') ++i;
    bool any = false;
    for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
        if (out >> 60) return false;
        out = out * 8 + uint64_t(f[i] - '0');
        any = true;
    }
    for (; i < f.size(); ++i) {
        if (f[i] != ' ' && f[i] != '\0') return false;
    }
    return any;
}

std::string normalise(std::string name) {
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    return name;
}

}  // namespace

bool TarArchive::looks_like_tar(std::string_view bytes) {
    return bytes.size() >= kBlock && bytes.substr(257, 5) == "ustar";
}

TarArchive::TarArchive(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {
    const std::string& src = source_;
    std::string next_name;            // from a PAX 'path' record or a GNU long name
    uint64_t next_size = UINT64_MAX;  // from a PAX 'size' record
    size_t pos = 0;
    while (true) {
        WSOL_CHECK(bytes.size() - pos >= kBlock, src, ": tar archive ends inside a header at offset ", pos,
                   " (truncated file?)");
        const std::string_view h = bytes.substr(pos, kBlock);
        if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) break;  // end of archive
        uint64_t stored_sum = 0, size = 0;
        WSOL_CHECK(parse_number(h.substr(148, 8), stored_sum), src, ": tar header at offset ", pos, " is corrupt");
        uint64_t sum = 0;
        int64_t signed_sum = 0;  // some old writers summed signed chars
        for (size_t i = 0; i < kBlock; ++i) {
            const bool in_sum_field = i >= 148 && i < 156;
            sum += in_sum_field ? uint8_t(' ') : uint8_t(h[i]);
            signed_sum += in_sum_field ? ' ' : int8_t(h[i]);
        }
        WSOL_CHECK(stored_sum == sum || int64_t(stored_sum) == signed_sum, src, ": tar header at offset ", pos,
                   " fails its checksum");
        WSOL_CHECK(parse_number(h.substr(124, 12), size), src, ": tar header at offset ", pos, " has a bad size field");
        const char type = h[156];
        std::string name(field(h, 0, 100));
        if (h.substr(257, 5) == "ustar" && !field(h, 345, 155).empty()) name = std::string(field(h, 345, 155)) + "/" + name;
        if (type != 'x' && type != 'g' && type != 'L') {
            if (next_size != UINT64_MAX) size = next_size;
            if (!next_name.empty()) name = next_name;
        }
        const size_t data = pos + kBlock;
        WSOL_CHECK(size <= bytes.size() - data, src, ": tar member '", name, "' (", size, " bytes at offset ", data,
                   ") runs past the end of the archive (", bytes.size(), " bytes; truncated file?)");
        const std::string_view body = bytes.substr(data, size_t(size));
        if (type == 'x') {
            // PAX records: "<length> <key>=<value>\n", the length counting the whole record.
            std::string_view rest = body;
            while (!rest.empty()) {
                const size_t space = rest.find(' ');
                WSOL_CHECK(space != std::string_view::npos && space > 0, src, ": corrupt PAX header at offset ", pos);
                uint64_t len = 0;  // decimal, unlike the octal header fields
                for (char c : rest.substr(0, space)) {
                    WSOL_CHECK(c >= '0' && c <= '9' && len < (uint64_t(1) << 40), src, ": corrupt PAX header at offset ", pos);
                    len = len * 10 + uint64_t(c - '0');
                }
                WSOL_CHECK(len > space + 1 && len <= rest.size() && rest[size_t(len) - 1] == '\n', src,
                           ": corrupt PAX record at offset ", pos);
                const std::string_view record = rest.substr(space + 1, size_t(len) - space - 2);
                const size_t eq = record.find('=');
                WSOL_CHECK(eq != std::string_view::npos, src, ": corrupt PAX record at offset ", pos);
                const std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
                if (key == "path") next_name = std::string(value);
                if (key == "size") {
                    next_size = 0;
                    for (char c : value) {
                        WSOL_CHECK(c >= '0' && c <= '9' && next_size < (uint64_t(1) << 60), src, ": bad PAX size '",
                                   value, "'");
                        next_size = next_size * 10 + uint64_t(c - '0');
                    }
                }
                rest.remove_prefix(size_t(len));
            }
        } else if (type == 'L') {
            next_name = std::string(field(body, 0, body.size()));
        } else if (type != 'g') {
            if (type == '0' || type == '\0' || type == '7') members_.push_back({normalise(name), data, size});
            next_name.clear();
            next_size = UINT64_MAX;
        }
        // Data is padded to whole blocks; the final padding may be cut short.
        const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
        pos = padded <= bytes.size() - data ? data + size_t(padded) : bytes.size();
        if (pos == bytes.size()) break;
    }
}

const TarArchive::Member* TarArchive::find(std::string_view name) const {
    // A later member of the same name replaces an earlier one, as when tar extracts.
    for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
        if (it->name == name) return &*it;
    }
    return nullptr;
}

}  // namespace wsol
