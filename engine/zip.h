// A read-only zip archive in memory: the container of torch.save since PyTorch 1.6.
//
// Reads the central directory (found through the end-of-central-directory record, scanning back
// over a possible comment), with the ZIP64 records and extra fields that torch's writer emits,
// and takes each member's data offset from its *local* header (torch pads local headers with an
// extra field so that data starts 64-byte aligned; the central directory does not repeat it).
// Members are stored (torch's case) or deflated (other tools); CRC-32 is verified on read.
// Every offset and size is checked against the buffer; errors name the source and the member.
// Format reference: PKWARE APPNOTE.TXT, sections 4.3 and 4.5.3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wsol {

class ZipArchive {
public:
    struct Entry {
        std::string name;
        uint64_t data_offset = 0;      // of the member's bytes in the archive
        uint64_t compressed_size = 0;
        uint64_t size = 0;             // uncompressed
        uint16_t method = 0;           // 0 stored, 8 deflated
        uint32_t crc32 = 0;
    };

    // Parses the directory of `bytes`, which must outlive the archive. `source` names it in errors.
    ZipArchive(std::string_view bytes, std::string source);

    const std::vector<Entry>& entries() const { return entries_; }
    const Entry* find(std::string_view name) const;
    // The member's bytes: a view into the archive when stored, else inflated into `scratch`.
    // Verifies the CRC-32 unless `verify_crc` is false.
    std::string_view read(const Entry& entry, std::string& scratch, bool verify_crc = true) const;
    const std::string& source() const { return source_; }

private:
    std::string_view bytes_;
    std::string source_;
    std::vector<Entry> entries_;
    std::unordered_map<std::string, size_t> index_;
};

}  // namespace wsol
