// Line and field splitting for the dataset list files, with errors that name the file and line.
//
// The files come from Linux (wsolevaluation: LF, no newline after the last line) and Windows (the
// seeds' CSFN copies: CRLF), so a line ends at "\n", "\r\n" or a lone "\r"; a missing final newline
// is fine. Lines that are empty or only whitespace are skipped but still counted, so the numbers in
// messages are the ones an editor shows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsol::data {

struct TextLine {
    std::string_view text;  // without the line ending
    int64_t number = 0;     // 1-based
};

// The non-blank lines of `text`.
std::vector<TextLine> split_lines(std::string_view text);

// Fields separated by `delimiter` (empty fields kept: "a,,b" has three).
std::vector<std::string_view> split_fields(std::string_view line, char delimiter);
// Fields separated by runs of spaces or tabs.
std::vector<std::string_view> split_whitespace(std::string_view line);
std::string_view trim(std::string_view s);

// "source:line: " for messages ("source: " when line <= 0).
std::string where(const std::string& source, int64_t line);

// Whole-field numbers; anything else (empty, trailing junk, out of range, NaN/inf) is an error
// "<source>:<line>: <what>: '<field>' is not an integer" (or "a number").
int64_t parse_int(std::string_view field, const std::string& source, int64_t line, const char* what);
double parse_number(std::string_view field, const std::string& source, int64_t line, const char* what);
// A class label: an integer below 2^31 (no dataset has more classes, and the class count, the
// largest label + 1, must not overflow). Negative ones are left to the record checks.
int64_t parse_label(std::string_view field, const std::string& source, int64_t line, const char* what);

// "a/b" joined with exactly one slash; an empty `base` leaves `rel` as is.
std::string join_path(const std::string& base, std::string_view rel);

}  // namespace wsol::data
