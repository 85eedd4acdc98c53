// wsolevaluation metadata parsing (format and checks in metadata.h).
#include "eval/metadata.h"

#include <charconv>
#include <filesystem>
#include <unordered_map>

#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::eval {

namespace {

struct Line {
    int number;  // 1-based
    std::vector<std::string> fields;
};

// Splits a metadata file into comma-separated lines. A missing final newline is fine; empty lines
// (other than after the final newline), CR characters and NUL bytes are errors.
std::vector<Line> read_lines(const std::string& path) {
    const std::string text = read_file(path);
    std::vector<Line> lines;
    size_t start = 0;
    int number = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        ++number;
        const std::string_view line(text.data() + start, end - start);
        WSOL_CHECK(!line.empty(), path, ":", number, ": empty line");
        WSOL_CHECK(line.find('\r') == std::string_view::npos, path, ":", number,
                   ": carriage return in the line (CRLF line ends are not supported)");
        WSOL_CHECK(line.find('\0') == std::string_view::npos, path, ":", number, ": NUL byte in the line");
        Line parsed{number, {}};
        size_t field_start = 0;
        while (true) {
            const size_t comma = line.find(',', field_start);
            parsed.fields.emplace_back(line.substr(field_start, comma == std::string_view::npos ? std::string_view::npos
                                                                                                 : comma - field_start));
            if (comma == std::string_view::npos) break;
            field_start = comma + 1;
        }
        lines.push_back(std::move(parsed));
        start = end + 1;
    }
    return lines;
}

int parse_int(const std::string& field, const std::string& path, int line, const char* what) {
    int value = 0;
    const char* begin = field.data();
    const char* end = begin + field.size();
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    WSOL_CHECK(ec == std::errc() && ptr == end && !field.empty(), path, ":", line, ": ", what, " '", field,
               "' is not an integer");
    return value;
}

void check_field_count(const Line& line, size_t expected, const std::string& path, const char* format) {
    WSOL_CHECK(line.fields.size() == expected, path, ":", line.number, ": expected ", expected, " comma-separated fields (",
               format, "), got ", line.fields.size());
}

}  // namespace

std::string strip_extension(const std::string& image_id) {
    const size_t slash = image_id.rfind('/');
    const size_t name = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = image_id.rfind('.');
    if (dot == std::string::npos || dot <= name) return image_id;
    return image_id.substr(0, dot);
}

WsolMetadata load_wsol_metadata(const std::string& dir) {
    WsolMetadata meta;
    meta.dir = dir;
    const std::string ids_path = dir + "/image_ids.txt";
    std::unordered_map<std::string, size_t> index;
    for (const Line& line : read_lines(ids_path)) {
        check_field_count(line, 1, ids_path, "<image_id>");
        const std::string& id = line.fields[0];
        WSOL_CHECK(index.emplace(id, meta.image_ids.size()).second, ids_path, ":", line.number, ": image id '", id,
                   "' appears twice");
        meta.image_ids.push_back(id);
    }
    WSOL_CHECK(!meta.image_ids.empty(), ids_path, ": no image ids");
    const size_t n = meta.image_ids.size();
    auto lookup = [&](const std::string& id, const std::string& path, int line) {
        const auto it = index.find(id);
        WSOL_CHECK(it != index.end(), path, ":", line, ": image id '", id, "' is not in image_ids.txt");
        return it->second;
    };

    // Per-image fields given at most once, and then for every image.
    auto read_per_image = [&](const std::string& path, size_t fields, const char* format, auto&& store) {
        std::vector<int> seen_at(n, 0);
        const std::vector<Line> lines = read_lines(path);
        for (const Line& line : lines) {
            check_field_count(line, fields, path, format);
            const size_t i = lookup(line.fields[0], path, line.number);
            WSOL_CHECK(seen_at[i] == 0, path, ":", line.number, ": image id '", line.fields[0],
                       "' already given at line ", seen_at[i]);
            seen_at[i] = line.number;
            store(i, line);
        }
        for (size_t i = 0; i < n; ++i) {
            WSOL_CHECK(seen_at[i] != 0, path, ": no line for image '", meta.image_ids[i], "'");
        }
        return !lines.empty();
    };

    const std::string labels_path = dir + "/class_labels.txt";
    if (file_exists(labels_path)) {
        meta.labels.assign(n, -1);
        read_per_image(labels_path, 2, "<image_id>,<label>", [&](size_t i, const Line& line) {
            meta.labels[i] = parse_int(line.fields[1], labels_path, line.number, "label");
            WSOL_CHECK(meta.labels[i] >= 0, labels_path, ":", line.number, ": label ", meta.labels[i], " is negative");
        });
    }

    const std::string sizes_path = dir + "/image_sizes.txt";
    // OpenImages ships an empty image_sizes.txt; treat it like an absent one.
    std::error_code ec;
    if (file_exists(sizes_path) && std::filesystem::file_size(sizes_path, ec) > 0) {
        meta.sizes.assign(n, ImageSize{});
        read_per_image(sizes_path, 3, "<image_id>,<width>,<height>", [&](size_t i, const Line& line) {
            ImageSize& s = meta.sizes[i];
            s.width = parse_int(line.fields[1], sizes_path, line.number, "width");
            s.height = parse_int(line.fields[2], sizes_path, line.number, "height");
            WSOL_CHECK(s.width > 0 && s.height > 0, sizes_path, ":", line.number, ": image size ", s.width, "x", s.height,
                       " is not positive");
        });
    }

    const std::string loc_path = dir + "/localization.txt";
    const std::vector<Line> loc = read_lines(loc_path);
    WSOL_CHECK(!loc.empty(), loc_path, ": no lines");
    const bool masks = loc[0].fields.size() == 3;
    WSOL_CHECK(masks || loc[0].fields.size() == 5, loc_path, ":", loc[0].number,
               ": expected 5 fields (<image_id>,<x0>,<y0>,<x1>,<y1>) or 3 fields (<image_id>,<mask>,<ignore>), got ",
               loc[0].fields.size());
    if (masks) {
        meta.mask_paths.assign(n, {});
        meta.ignore_paths.assign(n, "");
        for (const Line& line : loc) {
            check_field_count(line, 3, loc_path, "<image_id>,<mask_png>,<ignore_png>");
            const size_t i = lookup(line.fields[0], loc_path, line.number);
            WSOL_CHECK(!line.fields[1].empty(), loc_path, ":", line.number, ": empty mask path");
            if (meta.mask_paths[i].empty()) {
                WSOL_CHECK(!line.fields[2].empty(), loc_path, ":", line.number, ": the first mask line of '",
                           line.fields[0], "' must name its ignore mask");
                meta.ignore_paths[i] = line.fields[2];
            } else {
                WSOL_CHECK(line.fields[2].empty(), loc_path, ":", line.number, ": image '", line.fields[0],
                           "' names a second ignore mask (only its first line may)");
            }
            meta.mask_paths[i].push_back(line.fields[1]);
        }
        for (size_t i = 0; i < n; ++i) {
            WSOL_CHECK(!meta.mask_paths[i].empty(), loc_path, ": no mask for image '", meta.image_ids[i], "'");
        }
        return meta;
    }
    WSOL_CHECK(!meta.sizes.empty(), sizes_path, ": missing or empty, but box metadata needs the image sizes");
    meta.boxes.assign(n, {});
    for (const Line& line : loc) {
        check_field_count(line, 5, loc_path, "<image_id>,<x0>,<y0>,<x1>,<y1>");
        const size_t i = lookup(line.fields[0], loc_path, line.number);
        const Box b{parse_int(line.fields[1], loc_path, line.number, "x0"),
                    parse_int(line.fields[2], loc_path, line.number, "y0"),
                    parse_int(line.fields[3], loc_path, line.number, "x1"),
                    parse_int(line.fields[4], loc_path, line.number, "y1")};
        check_box(b, loc_path + ":" + std::to_string(line.number));
        const ImageSize& s = meta.sizes[i];
        WSOL_CHECK(b.x1 < s.width && b.y1 < s.height, loc_path, ":", line.number, ": box ", b, " of '", line.fields[0],
                   "' reaches outside its ", s.width, "x", s.height, " image (image_sizes.txt)");
        meta.boxes[i].push_back(b);
    }
    for (size_t i = 0; i < n; ++i) {
        WSOL_CHECK(!meta.boxes[i].empty(), loc_path, ": no box for image '", meta.image_ids[i], "'");
    }
    return meta;
}

}  // namespace wsol::eval
