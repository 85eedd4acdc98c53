// Line/field splitting and strict number parsing for list files (see text_lines.h).
#include "data/text_lines.h"

#include <charconv>
#include <cmath>

#include "engine/error.h"

namespace wsol::data {

namespace {
bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

std::string shown(std::string_view field) {
    // Keep messages one line long even for hostile input.
    std::string out;
    for (char c : field.substr(0, 60)) out += (c >= 32 && c < 127) ? c : '?';
    if (field.size() > 60) out += "...";
    return out;
}
}  // namespace

std::string_view trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && is_blank(s[b])) ++b;
    while (e > b && is_blank(s[e - 1])) --e;
    return s.substr(b, e - b);
}

std::vector<TextLine> split_lines(std::string_view text) {
    std::vector<TextLine> lines;
    int64_t number = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = start;
        while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
        ++number;
        const std::string_view line = text.substr(start, end - start);
        if (!trim(line).empty()) lines.push_back(TextLine{line, number});
        if (end < text.size() && text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ++end;
        start = end + 1;
    }
    return lines;
}

std::vector<std::string_view> split_fields(std::string_view line, char delimiter) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (true) {
        const size_t at = line.find(delimiter, start);
        if (at == std::string_view::npos) {
            fields.push_back(line.substr(start));
            return fields;
        }
        fields.push_back(line.substr(start, at - start));
        start = at + 1;
    }
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        const size_t start = i;
        while (i < line.size() && !is_blank(line[i])) ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

std::string where(const std::string& source, int64_t line) {
    return line > 0 ? source + ":" + std::to_string(line) + ": " : source + ": ";
}

int64_t parse_int(std::string_view field, const std::string& source, int64_t line, const char* what) {
    const std::string_view f = trim(field);
    int64_t value = 0;
    const char* begin = f.data();
    const char* end = f.data() + f.size();
    if (!f.empty() && *begin == '+') ++begin;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    WSOL_CHECK(!f.empty() && ec == std::errc() && ptr == end, where(source, line), what, ": '", shown(field),
               "' is not an integer");
    return value;
}

int64_t parse_label(std::string_view field, const std::string& source, int64_t line, const char* what) {
    const int64_t value = parse_int(field, source, line, what);
    WSOL_CHECK(value < (int64_t(1) << 31), where(source, line), what, " ", value, " is too large");
    return value;
}

double parse_number(std::string_view field, const std::string& source, int64_t line, const char* what) {
    const std::string_view f = trim(field);
    double value = 0;
    const char* begin = f.data();
    const char* end = f.data() + f.size();
    if (!f.empty() && *begin == '+') ++begin;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    WSOL_CHECK(!f.empty() && ec == std::errc() && ptr == end && std::isfinite(value), where(source, line), what, ": '",
               shown(field), "' is not a finite number");
    return value;
}

std::string join_path(const std::string& base, std::string_view rel) {
    if (base.empty()) return std::string(rel);
    if (!rel.empty() && rel.front() == '/') return std::string(rel);
    std::string out = base;
    if (out.back() != '/') out += '/';
    out.append(rel);
    return out;
}

}  // namespace wsol::data
