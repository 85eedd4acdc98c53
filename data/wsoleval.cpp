// wsolevaluation metadata reader (see wsoleval.h).
#include "data/wsoleval.h"

#include <algorithm>
#include <unordered_map>

#include "data/text_lines.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

namespace {

struct Entry {
    int64_t line = 0;  // in image_ids.txt
    int64_t label = -1;
    int64_t label_line = 0;
    int width = 0, height = 0;
    int64_t size_line = 0;
    std::vector<Box> boxes;
    std::vector<std::string> masks;
    std::string ignore;
    std::string error;  // first problem found for this image (skip_bad keeps going)
};

class Parser {
public:
    Parser(Dataset& ds, const ReadOptions& options, const std::string& dir) : ds_(ds), options_(options), dir_(dir) {}

    void image_ids(const std::string& text) {
        const std::string source = dir_ + "/image_ids.txt";
        for (const TextLine& line : split_lines(text)) {
            const std::string id(trim(line.text));
            auto [it, fresh] = index_.try_emplace(id, order_.size());
            if (!fresh) {
                reject_input(ds_, options_, where(source, line.number),
                             "image id " + id + " is listed twice (first at line " +
                                 std::to_string(entries_[it->second].line) + ")");
                continue;
            }
            order_.push_back(id);
            entries_.push_back(Entry{});
            entries_.back().line = line.number;
        }
    }

    void class_labels(const std::string& text) {
        const std::string source = dir_ + "/class_labels.txt";
        for (const TextLine& line : split_lines(text)) {
            const auto fields = split_fields(line.text, ',');
            Entry* e = entry_for(fields, 2, source, line, "<image_id>,<label>");
            if (!e) continue;
            guarded(*e, [&] {
                WSOL_CHECK(e->label_line == 0, where(source, line.number), "second label for ", fields[0],
                           " (first at line ", e->label_line, ")");
                e->label = parse_label(fields[1], source, line.number, "class label");
                e->label_line = line.number;
            });
        }
    }

    void image_sizes(const std::string& text) {
        const std::string source = dir_ + "/image_sizes.txt";
        for (const TextLine& line : split_lines(text)) {
            const auto fields = split_fields(line.text, ',');
            Entry* e = entry_for(fields, 3, source, line, "<image_id>,<width>,<height>");
            if (!e) continue;
            guarded(*e, [&] {
                WSOL_CHECK(e->size_line == 0, where(source, line.number), "second size for ", fields[0],
                           " (first at line ", e->size_line, ")");
                const int64_t w = parse_int(fields[1], source, line.number, "width");
                const int64_t h = parse_int(fields[2], source, line.number, "height");
                WSOL_CHECK(w > 0 && h > 0 && w < (1 << 30) && h < (1 << 30), where(source, line.number), "image size ",
                           w, "x", h, " of ", fields[0], " is not a valid size");
                e->width = int(w);
                e->height = int(h);
                e->size_line = line.number;
            });
        }
    }

    void localization(const std::string& text, const std::string& name) {
        const std::string source = dir_ + "/" + name;
        for (const TextLine& line : split_lines(text)) {
            const auto fields = split_fields(line.text, ',');
            const size_t n = fields.size() == 3 ? 3 : 5;  // mask form or box form
            Entry* e =
                entry_for(fields, n, source, line, "<image_id>,<x0>,<y0>,<x1>,<y1> or <image_id>,<mask>,<ignore>");
            if (!e) continue;
            guarded(*e, [&] {
                if (n == 5) {
                    Box b;
                    b.x0 = double(parse_int(fields[1], source, line.number, "x0"));
                    b.y0 = double(parse_int(fields[2], source, line.number, "y0"));
                    b.x1 = double(parse_int(fields[3], source, line.number, "x1"));
                    b.y1 = double(parse_int(fields[4], source, line.number, "y1"));
                    e->boxes.push_back(b);
                } else {
                    const std::string mask(trim(fields[1])), ignore(trim(fields[2]));
                    WSOL_CHECK(!mask.empty(), where(source, line.number), "empty mask path for ", fields[0]);
                    // Only an image's first mask line names the ignore mask (reference loader's assert).
                    WSOL_CHECK(e->masks.empty() || ignore.empty(), where(source, line.number),
                               "ignore mask given again for ", fields[0], " (only its first line may name one)");
                    if (e->masks.empty()) e->ignore = ignore;
                    e->masks.push_back(mask);
                }
            });
        }
    }

    void finish(const std::string& image_root) {
        const std::string ids_source = dir_ + "/image_ids.txt";
        int64_t max_label = -1;
        for (const Entry& e : entries_) max_label = std::max(max_label, e.label);
        ds_.num_classes = options_.num_classes > 0 ? options_.num_classes : max_label + 1;
        for (size_t i = 0; i < order_.size(); ++i) {
            Entry& e = entries_[i];
            const std::string at = where(ids_source, e.line);
            if (!e.error.empty()) {  // only with skip_bad: otherwise the parse step threw
                ds_.skipped.push_back(SkippedInput{at, e.error});
                continue;
            }
            if (e.label_line == 0) {
                reject_input(ds_, options_, at, order_[i] + " has no line in class_labels.txt");
                continue;
            }
            Record r;
            r.image_id = order_[i];
            r.path = join_path(image_root, r.image_id);
            r.label = e.label;
            r.width = e.width;
            r.height = e.height;
            r.boxes = std::move(e.boxes);
            r.mask_paths = std::move(e.masks);
            r.ignore_path = std::move(e.ignore);
            admit_record(ds_, std::move(r), options_, at);
        }
    }

private:
    // The entry of the line's image, or null (after reporting) when the line names an image that
    // image_ids.txt does not list or is malformed. A malformed line of a known image makes that image
    // bad (with skip_bad it is skipped as a whole rather than loaded with a box missing).
    Entry* entry_for(const std::vector<std::string_view>& fields, size_t expected, const std::string& source,
                     const TextLine& line, const char* format) {
        const std::string id(trim(fields[0]));
        const auto it = index_.find(id);
        if (it == index_.end()) {
            reject_input(ds_, options_, where(source, line.number),
                         "image id '" + id.substr(0, 200) + "' is not in image_ids.txt");
            return nullptr;
        }
        Entry& e = entries_[it->second];
        if (fields.size() != expected) {
            guarded(e, [&] {
                WSOL_FAIL(where(source, line.number), "expected ", format, ", found ", fields.size(), " fields");
            });
            return nullptr;
        }
        return &e;
    }

    // Runs a parsing step for one image; with skip_bad an error marks the image bad instead.
    template <class F>
    void guarded(Entry& e, F&& step) {
        if (!e.error.empty()) return;
        try {
            step();
        } catch (const Error& err) {
            if (!options_.skip_bad) throw;
            e.error = err.what();
        }
    }

    Dataset& ds_;
    const ReadOptions& options_;
    std::string dir_;
    std::unordered_map<std::string, size_t> index_;
    std::vector<std::string> order_;
    std::vector<Entry> entries_;
};

}  // namespace

Dataset parse_wsoleval(const WsolevalTexts& texts, const std::string& metadata_dir, const std::string& image_root,
                       const ReadOptions& options) {
    Dataset ds;
    ds.name = "wsoleval " + metadata_dir;
    Parser parser(ds, options, metadata_dir);
    parser.image_ids(texts.image_ids);
    parser.class_labels(texts.class_labels);
    parser.image_sizes(texts.image_sizes);
    parser.localization(texts.localization, "localization.txt");
    parser.localization(texts.mask_localization, "mask_localization.txt");
    parser.finish(image_root);
    return ds;
}

Dataset read_wsoleval(const std::string& metadata_dir, const std::string& image_root, const ReadOptions& options) {
    auto optional = [&](const char* name) {
        const std::string path = join_path(metadata_dir, name);
        return file_exists(path) ? read_file(path) : std::string();
    };
    const std::string ids = join_path(metadata_dir, "image_ids.txt");
    WSOL_CHECK(file_exists(ids), ids,
               ": missing (a wsolevaluation metadata folder holds image_ids.txt, "
               "class_labels.txt, image_sizes.txt, localization.txt)");
    WsolevalTexts texts;
    texts.image_ids = read_file(ids);
    texts.class_labels = read_file(join_path(metadata_dir, "class_labels.txt"));
    texts.image_sizes = optional("image_sizes.txt");
    texts.localization = optional("localization.txt");
    texts.mask_localization = optional("mask_localization.txt");
    return parse_wsoleval(texts, metadata_dir, image_root, options);
}

}  // namespace wsol::data
