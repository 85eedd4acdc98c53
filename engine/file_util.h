// Whole-file reads and crash-safe writes.
//
// write_file_atomic writes to a temporary name in the same folder, flushes it to disk (fsync),
// then renames it over the destination. A reader (or a crash at any moment) sees either the old
// file or the complete new one, never a half-written file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsol {

// The whole file as bytes; throws wsol::Error naming the path when it cannot be read.
std::string read_file(const std::string& path);
void write_file_atomic(const std::string& path, std::string_view bytes);
bool file_exists(const std::string& path);

}  // namespace wsol
