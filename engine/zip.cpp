#include "engine/zip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "engine/error.h"

namespace wsol {

namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;    // PK\3\4
constexpr uint32_t kCentralHeaderSig = 0x02014b50;  // PK\1\2
constexpr uint32_t kEndSig = 0x06054b50;            // PK\5\6
constexpr uint32_t kZip64EndSig = 0x06064b50;       // PK\6\6
constexpr uint32_t kZip64LocatorSig = 0x07064b50;   // PK\6\7
constexpr size_t kEndSize = 22, kZip64EndSize = 56, kZip64LocatorSize = 20, kCentralSize = 46, kLocalSize = 30;

uint64_t le(std::string_view b, size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[at + size_t(i)]);
    return v;
}

}  // namespace

ZipArchive::ZipArchive(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {
    const std::string& src = source_;
    WSOL_CHECK(bytes.size() >= kEndSize, src, ": zip archive of ", bytes.size(), " bytes is too short");
    // The end record sits in the last 22 bytes plus at most a 65535-byte comment.
    size_t end_pos = std::string_view::npos;
    const size_t lowest = bytes.size() >= kEndSize + 65535 ? bytes.size() - kEndSize - 65535 : 0;
    for (size_t p = bytes.size() - kEndSize + 1; p-- > lowest;) {
        if (le(bytes, p, 4) == kEndSig && p + kEndSize + le(bytes, p + 20, 2) == bytes.size()) {
            end_pos = p;
            break;
        }
    }
    WSOL_CHECK(end_pos != std::string_view::npos, src, ": no zip end-of-central-directory record (truncated file?)");
    uint64_t disk = le(bytes, end_pos + 4, 2), cd_disk = le(bytes, end_pos + 6, 2);
    uint64_t count = le(bytes, end_pos + 10, 2);
    uint64_t cd_size = le(bytes, end_pos + 12, 4), cd_offset = le(bytes, end_pos + 16, 4);
    size_t cd_limit = end_pos;  // the central directory ends before the end records

    // ZIP64: saturated fields mean "see the zip64 end record", found through the locator just before.
    if (end_pos >= kZip64LocatorSize && le(bytes, end_pos - kZip64LocatorSize, 4) == kZip64LocatorSig) {
        const size_t loc = end_pos - kZip64LocatorSize;
        const uint64_t z64 = le(bytes, loc + 8, 8);
        WSOL_CHECK(z64 <= loc && loc - z64 >= kZip64EndSize && le(bytes, size_t(z64), 4) == kZip64EndSig, src,
                   ": zip64 end record offset ", z64, " is invalid");
        const size_t z = size_t(z64);
        disk = le(bytes, z + 16, 4);
        cd_disk = le(bytes, z + 20, 4);
        count = le(bytes, z + 32, 8);
        cd_size = le(bytes, z + 40, 8);
        cd_offset = le(bytes, z + 48, 8);
        cd_limit = z;
    }
    WSOL_CHECK(disk == 0 && cd_disk == 0, src, ": multi-disk zip archives are not supported");
    WSOL_CHECK(cd_offset <= cd_limit && cd_size <= cd_limit - cd_offset, src, ": zip central directory (offset ",
               cd_offset, ", ", cd_size, " bytes) lies outside the archive");
    WSOL_CHECK(count <= cd_size / kCentralSize, src, ": zip claims ", count, " members in a ", cd_size,
               "-byte central directory");

    size_t p = size_t(cd_offset);
    const size_t cd_end = size_t(cd_offset + cd_size);
    entries_.reserve(size_t(count));
    struct Span {
        uint64_t begin, end;  // local header to end of data
        size_t entry;
    };
    std::vector<Span> spans;
    for (uint64_t i = 0; i < count; ++i) {
        WSOL_CHECK(cd_end - p >= kCentralSize && le(bytes, p, 4) == kCentralHeaderSig, src,
                   ": zip central directory entry ", i, " at offset ", p, " is corrupt");
        const uint64_t flags = le(bytes, p + 8, 2);
        Entry e;
        e.method = uint16_t(le(bytes, p + 10, 2));
        e.crc32 = uint32_t(le(bytes, p + 16, 4));
        e.compressed_size = le(bytes, p + 20, 4);
        e.size = le(bytes, p + 24, 4);
        const size_t name_len = size_t(le(bytes, p + 28, 2)), extra_len = size_t(le(bytes, p + 30, 2));
        const size_t comment_len = size_t(le(bytes, p + 32, 2));
        uint64_t local = le(bytes, p + 42, 4);
        WSOL_CHECK(cd_end - p - kCentralSize >= name_len + extra_len + comment_len, src,
                   ": zip central directory entry ", i, " runs past the directory");
        e.name.assign(bytes.substr(p + kCentralSize, name_len));
        // ZIP64 extended information: 8-byte values for exactly the fields that are saturated.
        std::string_view extra = bytes.substr(p + kCentralSize + name_len, extra_len);
        while (extra.size() >= 4) {
            const uint64_t id = le(extra, 0, 2), len = le(extra, 2, 2);
            WSOL_CHECK(len <= extra.size() - 4, src, ": zip member '", e.name, "' has a corrupt extra field");
            if (id == 0x0001) {
                std::string_view f = extra.substr(4, size_t(len));
                size_t at = 0;
                for (uint64_t* field : {&e.size, &e.compressed_size, &local}) {
                    if (*field != 0xffffffffu) continue;
                    WSOL_CHECK(f.size() - at >= 8, src, ": zip member '", e.name, "' has a short zip64 field");
                    *field = le(f, at, 8);
                    at += 8;
                }
            }
            extra.remove_prefix(size_t(4 + len));
        }
        p += kCentralSize + name_len + extra_len + comment_len;

        WSOL_CHECK(!(flags & 1), src, ": zip member '", e.name, "' is encrypted");
        WSOL_CHECK(e.method == 0 || e.method == 8, src, ": zip member '", e.name, "' uses compression method ", e.method,
                   " (only stored and deflated are supported)");
        WSOL_CHECK(e.method != 0 || e.size == e.compressed_size, src, ": stored zip member '", e.name,
                   "' has different compressed and uncompressed sizes");
        // The data starts after the *local* header's own name and extra field (torch's padding).
        WSOL_CHECK(local <= bytes.size() && bytes.size() - local >= kLocalSize &&
                       le(bytes, size_t(local), 4) == kLocalHeaderSig,
                   src, ": zip member '", e.name, "': no local header at offset ", local);
        const uint64_t data = local + kLocalSize + le(bytes, size_t(local) + 26, 2) + le(bytes, size_t(local) + 28, 2);
        WSOL_CHECK(data <= bytes.size() && e.compressed_size <= bytes.size() - data, src, ": zip member '", e.name,
                   "' (", e.compressed_size, " bytes at offset ", data, ") runs past the end of the archive (",
                   bytes.size(), " bytes; truncated file?)");
        e.data_offset = data;
        WSOL_CHECK(index_.emplace(e.name, entries_.size()).second, src, ": zip member '", e.name, "' appears twice");
        spans.push_back({local, data + e.compressed_size, entries_.size()});
        entries_.push_back(std::move(e));
    }
    // Members must not overlap: a directory pointing many names at one blob is the classic zip
    // bomb (and never written by torch).
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < spans.size(); ++i) {
        WSOL_CHECK(spans[i].begin >= spans[i - 1].end, src, ": zip members '", entries_[spans[i - 1].entry].name,
                   "' and '", entries_[spans[i].entry].name, "' overlap");
    }
}

const ZipArchive::Entry* ZipArchive::find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipArchive::read(const Entry& e, std::string& scratch, bool verify_crc) const {
    std::string_view raw = bytes_.substr(size_t(e.data_offset), size_t(e.compressed_size));
    std::string_view out = raw;
    if (e.method == 8) {
        // Deflate cannot expand beyond ~1032:1, which bounds what a lying size field can make us allocate.
        WSOL_CHECK(e.size <= (e.compressed_size + 1) * 1032, source_, ": zip member '", e.name, "' claims ", e.size,
                   " bytes from ", e.compressed_size, " compressed");
        scratch.assign(size_t(e.size), '\0');
        z_stream z{};
        WSOL_CHECK(inflateInit2(&z, -MAX_WBITS) == Z_OK, source_, ": zlib inflateInit failed");
        size_t in_done = 0, out_done = 0;
        int status = Z_OK;
        while (status == Z_OK) {
            // zlib counts in uInt; feed and drain in pieces that fit.
            const size_t in_chunk = std::min<size_t>(raw.size() - in_done, UINT_MAX);
            const size_t out_chunk = std::min<size_t>(scratch.size() - out_done, UINT_MAX);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data() + in_done));
            z.avail_in = uInt(in_chunk);
            z.next_out = reinterpret_cast<Bytef*>(scratch.data() + out_done);
            z.avail_out = uInt(out_chunk);
            status = inflate(&z, Z_NO_FLUSH);
            in_done += in_chunk - z.avail_in;
            out_done += out_chunk - z.avail_out;
            if (status == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) status = Z_BUF_ERROR;  // no progress
        }
        inflateEnd(&z);
        WSOL_CHECK(status == Z_STREAM_END && out_done == scratch.size(), source_, ": zip member '", e.name,
                   "' does not inflate to its ", e.size, " bytes (corrupt deflate data)");
        out = scratch;
    }
    if (verify_crc) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t done = 0; done < out.size();) {
            const size_t n = std::min<size_t>(out.size() - done, UINT_MAX);
            crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), uInt(n));
            done += n;
        }
        WSOL_CHECK(uint32_t(crc) == e.crc32, source_, ": zip member '", e.name, "' fails its CRC-32 check (corrupt file)");
    }
    return out;
}

}  // namespace wsol
