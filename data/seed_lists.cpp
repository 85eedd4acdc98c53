// The SAT/CSFN list files (see seed_lists.h).
#include "data/seed_lists.h"

#include <algorithm>
#include <set>

#include "data/text_lines.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

namespace {

// Parses one line into a record; with skip_bad a parse error drops the line instead of throwing.
template <class Parse>
void each_line(Dataset& ds, const ReadOptions& options, const std::string& at, Parse&& parse) {
    Record r;
    try {
        r = parse();
    } catch (const Error& e) {
        if (!options.skip_bad) throw;
        ds.skipped.push_back(SkippedInput{at, e.what()});
        return;
    }
    admit_record(ds, std::move(r), options, at);
}

void set_num_classes(Dataset& ds, const ReadOptions& options, int64_t max_label) {
    ds.num_classes = options.num_classes > 0 ? options.num_classes : max_label + 1;
}

std::string read_named(const std::string& path, const char* what) {
    WSOL_CHECK(file_exists(path), path, ": ", what, " does not exist");
    return read_file(path);
}

}  // namespace

Dataset parse_sat_cub_test(const std::string& list_text, const std::string& box_text, const std::string& list_source,
                           const std::string& box_source, const std::string& image_root, const ReadOptions& options) {
    Dataset ds;
    ds.name = "SAT CUB test " + list_source;
    const std::vector<TextLine> list = split_lines(list_text), boxes = split_lines(box_text);
    // Line i of one file describes the same image as line i of the other: a count mismatch means
    // every pairing after the first gap is wrong, so it is fatal even with skip_bad.
    WSOL_CHECK(list.size() == boxes.size(), list_source, " has ", list.size(), " entries but ", box_source, " has ",
               boxes.size(), ": the files disagree (line i of one must describe the image of line i of the other)");
    int64_t max_label = -1;
    std::vector<int64_t> labels(list.size(), -1);
    for (size_t i = 0; i < list.size(); ++i) {
        try {
            const auto f = split_fields(list[i].text, ';');
            if (f.size() == 2) labels[i] = parse_label(f[1], list_source, list[i].number, "label");
        } catch (const Error&) {
        }
        max_label = std::max(max_label, labels[i]);
    }
    set_num_classes(ds, options, max_label);
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string at =
            where(list_source, list[i].number) + "(with " + where(box_source, boxes[i].number) + ") ";
        each_line(ds, options, at, [&] {
            const auto f = split_fields(list[i].text, ';');
            WSOL_CHECK(f.size() == 2, where(list_source, list[i].number), "expected <path>;<label>, found ", f.size(),
                       " fields");
            const auto b = split_whitespace(boxes[i].text);
            WSOL_CHECK(b.size() == 6, where(box_source, boxes[i].number),
                       "expected <x0> <y0> <x1> <y1> <H> <W>, found ", b.size(), " fields");
            Record r;
            r.image_id = std::string(trim(f[0]));
            WSOL_CHECK(!r.image_id.empty(), where(list_source, list[i].number), "empty image path");
            r.path = join_path(image_root, r.image_id);
            r.label = parse_label(f[1], list_source, list[i].number, "label");
            const std::string& s = box_source;
            const int64_t n = boxes[i].number;
            r.boxes.push_back(Box{parse_number(b[0], s, n, "x0"), parse_number(b[1], s, n, "y0"),
                                  parse_number(b[2], s, n, "x1"), parse_number(b[3], s, n, "y1")});
            const int64_t h = parse_int(b[4], s, n, "height"), w = parse_int(b[5], s, n, "width");
            WSOL_CHECK(w > 0 && h > 0 && w < (1 << 30) && h < (1 << 30), where(s, n), "image size ", w, "x", h,
                       " is not a valid size");
            r.width = int(w);
            r.height = int(h);
            return r;
        });
    }
    return ds;
}

Dataset read_sat_cub_test(const std::string& test_list, const std::string& bounding_boxes,
                          const std::string& image_root, const ReadOptions& options) {
    return parse_sat_cub_test(read_named(test_list, "test list"), read_named(bounding_boxes, "box list"), test_list,
                              bounding_boxes, image_root, options);
}

namespace {

struct ValGtKey {
    std::string wnid, file;
};

// "<wnid>\\<file>": two literal backslashes in the shipped file; one backslash or '/' also accepted.
ValGtKey split_val_gt_key(std::string_view key, const std::string& source, int64_t line) {
    for (std::string_view sep : {"\\\\", "\\", "/"}) {
        const size_t at = key.find(sep);
        if (at != std::string_view::npos && at > 0 && at + sep.size() < key.size())
            return ValGtKey{std::string(key.substr(0, at)), std::string(key.substr(at + sep.size()))};
    }
    WSOL_FAIL(where(source, line), "image key '", std::string(key.substr(0, 100)),
              "' is not <wnid>\\\\<file> (two backslashes)");
}

}  // namespace

Dataset parse_val_gt(const std::string& text, const std::string& source, const std::string& image_root,
                     const std::vector<std::string>& wnids_in, const ReadOptions& options) {
    Dataset ds;
    ds.name = "val_gt " + source;
    const std::vector<TextLine> lines = split_lines(text);
    std::vector<std::string> wnids = wnids_in;
    if (wnids.empty()) {
        std::set<std::string> seen;
        for (const TextLine& line : lines) {
            const auto t = split_whitespace(line.text);
            try {
                if (!t.empty()) seen.insert(split_val_gt_key(t[0], source, line.number).wnid);
            } catch (const Error&) {  // reported below, line by line
            }
        }
        wnids.assign(seen.begin(), seen.end());
    }
    WSOL_CHECK(std::is_sorted(wnids.begin(), wnids.end()), "read_val_gt: the wnid list must be sorted");
    ds.class_names = wnids;
    ds.num_classes = options.num_classes > 0 ? options.num_classes : int64_t(wnids.size());
    for (const TextLine& line : lines) {
        each_line(ds, options, where(source, line.number), [&] {
            const auto t = split_whitespace(line.text);
            WSOL_CHECK(t.size() >= 8 && t[3] == ";" && (t.size() - 4) % 4 == 0, where(source, line.number),
                       "expected <wnid>\\\\<file> <W> <H> ; x0 y0 x1 y1 [...], found ", t.size(), " fields");
            const ValGtKey key = split_val_gt_key(t[0], source, line.number);
            const auto it = std::lower_bound(wnids.begin(), wnids.end(), key.wnid);
            WSOL_CHECK(it != wnids.end() && *it == key.wnid, where(source, line.number), "unknown class id (wnid) '",
                       key.wnid.substr(0, 100), "'");
            Record r;
            r.image_id = key.wnid + "/" + key.file;
            r.path = join_path(image_root, r.image_id);
            r.label = int64_t(it - wnids.begin());
            const int64_t w = parse_int(t[1], source, line.number, "width");
            const int64_t h = parse_int(t[2], source, line.number, "height");
            WSOL_CHECK(w > 0 && h > 0 && w < (1 << 30) && h < (1 << 30), where(source, line.number), "image size ", w,
                       "x", h, " is not a valid size");
            r.width = int(w);
            r.height = int(h);
            for (size_t k = 4; k + 3 < t.size(); k += 4) {
                r.boxes.push_back(Box{double(parse_int(t[k], source, line.number, "x0")),
                                      double(parse_int(t[k + 1], source, line.number, "y0")),
                                      double(parse_int(t[k + 2], source, line.number, "x1")),
                                      double(parse_int(t[k + 3], source, line.number, "y1"))});
            }
            return r;
        });
    }
    return ds;
}

Dataset read_val_gt(const std::string& path, const std::string& image_root, const std::vector<std::string>& wnids,
                    const ReadOptions& options) {
    return parse_val_gt(read_named(path, "val_gt list"), path, image_root, wnids, options);
}

Dataset parse_path_label_list(const std::string& text, const std::string& source, const std::string& image_root,
                              const ReadOptions& options) {
    Dataset ds;
    ds.name = "list " + source;
    struct Parsed {
        std::string path;
        int64_t label = -1;
        int64_t line = 0;
        std::string error;
    };
    std::vector<Parsed> parsed;
    int64_t max_label = -1;
    for (const TextLine& line : split_lines(text)) {
        Parsed p;
        p.line = line.number;
        try {
            const std::string_view l = trim(line.text);
            size_t cut = l.rfind(';');
            if (cut == std::string_view::npos) cut = l.find_last_of(" \t");
            WSOL_CHECK(cut != std::string_view::npos && cut > 0, where(source, line.number),
                       "expected '<path> <label>' or '<path>;<label>'");
            p.path = std::string(trim(l.substr(0, cut)));
            p.label = parse_label(l.substr(cut + 1), source, line.number, "label");
            max_label = std::max(max_label, p.label);
        } catch (const Error& e) {
            if (!options.skip_bad) throw;
            p.error = e.what();
        }
        parsed.push_back(std::move(p));
    }
    set_num_classes(ds, options, max_label);
    for (Parsed& p : parsed) {
        const std::string at = where(source, p.line);
        if (!p.error.empty()) {
            ds.skipped.push_back(SkippedInput{at, p.error});
            continue;
        }
        Record r;
        r.image_id = p.path;
        r.path = join_path(image_root, p.path);
        r.label = p.label;
        admit_record(ds, std::move(r), options, at);
    }
    return ds;
}

Dataset read_path_label_list(const std::string& path, const std::string& image_root, const ReadOptions& options) {
    return parse_path_label_list(read_named(path, "image list"), path, image_root, options);
}

}  // namespace wsol::data
