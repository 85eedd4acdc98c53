// A read-only tar archive in memory: the container of torch.save before PyTorch 0.1.10 (still the
// layout of torchvision's resnet50-19c8e357.pth), written by Python's tarfile in PAX format.
//
// Reads 512-byte ustar headers (checksum verified; octal or base-256 sizes), the PAX extended
// headers that may override a member's path and size, and GNU long names; keeps regular files.
// Format reference: POSIX.1-2001 pax / ustar, and GNU tar's extensions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsol {

class TarArchive {
public:
    struct Member {
        std::string name;  // without a leading "./"
        uint64_t offset = 0;
        uint64_t size = 0;
    };

    // Parses the headers of `bytes`, which must outlive the archive. `source` names it in errors.
    TarArchive(std::string_view bytes, std::string source);

    const std::vector<Member>& members() const { return members_; }
    const Member* find(std::string_view name) const;
    std::string_view read(const Member& m) const { return bytes_.substr(size_t(m.offset), size_t(m.size)); }
    const std::string& source() const { return source_; }

    // True when `bytes` starts with a ustar header (the "ustar" magic at offset 257).
    static bool looks_like_tar(std::string_view bytes);

private:
    std::string_view bytes_;
    std::string source_;
    std::vector<Member> members_;
};

}  // namespace wsol
