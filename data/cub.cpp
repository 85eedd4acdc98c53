// CUB-200-2011 official-layout reader (see cub.h).
#include "data/cub.h"

#include <unordered_map>

#include "data/text_lines.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

namespace {

struct CubImage {
    std::string path;
    int64_t line = 0;
    int64_t class_id = 0, class_line = 0;
    int64_t split = -1, split_line = 0;
    Box box;
    int64_t box_line = 0;
    std::string error;
};

class CubParser {
public:
    CubParser(Dataset& ds, const ReadOptions& options, const std::string& root)
        : ds_(ds), options_(options), root_(root) {}

    // A broken class list makes every label meaningless: its errors are fatal even with skip_bad.
    void classes(const std::string& text) {
        const std::string source = root_ + "/classes.txt";
        for (const TextLine& line : split_lines(text)) {
            const auto f = split_whitespace(line.text);
            WSOL_CHECK(f.size() == 2, where(source, line.number), "expected <class id> <name>, found ", f.size(),
                       " fields");
            const int64_t id = parse_int(f[0], source, line.number, "class id");
            // The labels are id - 1, so the ids must be 1..K in order (they are in the official file).
            WSOL_CHECK(id == int64_t(ds_.class_names.size()) + 1, where(source, line.number), "class id ", id,
                       " out of sequence (expected ", ds_.class_names.size() + 1, ")");
            ds_.class_names.emplace_back(f[1]);
        }
        WSOL_CHECK(!ds_.class_names.empty(), source, ": no classes");
        ds_.num_classes = int64_t(ds_.class_names.size());
    }

    void images(const std::string& text) {
        const std::string source = root_ + "/images.txt";
        for (const TextLine& line : split_lines(text)) {
            try {
                const auto f = split_whitespace(line.text);
                WSOL_CHECK(f.size() == 2, where(source, line.number), "expected <image id> <path>, found ", f.size(),
                           " fields");
                const int64_t id = parse_int(f[0], source, line.number, "image id");
                auto [it, fresh] = index_.try_emplace(id, images_.size());
                WSOL_CHECK(fresh, where(source, line.number), "image id ", id, " listed twice (first at line ",
                           images_[it->second].line, ")");
                images_.push_back(CubImage{});
                images_.back().path = std::string(f[1]);
                images_.back().line = line.number;
            } catch (const Error& e) {
                if (!options_.skip_bad) throw;
                ds_.skipped.push_back(SkippedInput{where(source, line.number), e.what()});
            }
        }
    }

    // One "<image id> <values...>" file; `take` stores the values into the image.
    template <class Take>
    void keyed_file(const std::string& text, const char* name, size_t fields, const char* format, Take&& take) {
        const std::string source = root_ + "/" + name;
        for (const TextLine& line : split_lines(text)) {
            const auto f = split_whitespace(line.text);
            CubImage* image = nullptr;
            try {
                WSOL_CHECK(!f.empty(), where(source, line.number), "empty line");
                const int64_t id = parse_int(f[0], source, line.number, "image id");
                const auto it = index_.find(id);
                WSOL_CHECK(it != index_.end(), where(source, line.number), "image id ", id,
                           " is not in images.txt (the files disagree)");
                image = &images_[it->second];
                WSOL_CHECK(f.size() == fields, where(source, line.number), "expected ", format, ", found ", f.size(),
                           " fields");
                if (!image->error.empty()) continue;
                take(*image, f, source, line.number);
            } catch (const Error& e) {
                if (!options_.skip_bad) throw;
                if (image && image->error.empty()) image->error = e.what();
                if (!image) ds_.skipped.push_back(SkippedInput{where(source, line.number), e.what()});
            }
        }
    }

    void finish(CubSplit split) {
        const std::string source = root_ + "/images.txt";
        for (CubImage& im : images_) {
            const std::string at = where(source, im.line);
            if (!im.error.empty()) {
                ds_.skipped.push_back(SkippedInput{at, im.error});
                continue;
            }
            const char* missing = im.class_line == 0   ? "image_class_labels.txt"
                                  : im.split_line == 0 ? "train_test_split.txt"
                                  : im.box_line == 0   ? "bounding_boxes.txt"
                                                       : nullptr;
            if (missing) {
                reject_input(ds_, options_, at, im.path + " has no line in " + missing + " (the files disagree)");
                continue;
            }
            if ((split == CubSplit::Train && im.split != 1) || (split == CubSplit::Test && im.split != 0)) continue;
            Record r;
            r.image_id = im.path;
            r.path = join_path(root_ + "/images", im.path);
            r.label = im.class_id - 1;
            r.boxes.push_back(im.box);
            admit_record(ds_, std::move(r), options_, at);
        }
    }

private:
    Dataset& ds_;
    const ReadOptions& options_;
    std::string root_;
    std::unordered_map<int64_t, size_t> index_;
    std::vector<CubImage> images_;
};

// A second line for the same image in a keyed file.
void check_first(int64_t previous_line, const std::string& source, int64_t line, const char* what) {
    WSOL_CHECK(previous_line == 0, where(source, line), "second ", what, " for this image (first at line ",
               previous_line, ")");
}

}  // namespace

Dataset parse_cub(const CubTexts& texts, const std::string& root, CubSplit split, const ReadOptions& options) {
    Dataset ds;
    ds.name = std::string("CUB-200-2011 ") + (split == CubSplit::Train  ? "train"
                                              : split == CubSplit::Test ? "test"
                                                                        : "all");
    CubParser p(ds, options, root);
    p.classes(texts.classes);
    p.images(texts.images);
    p.keyed_file(texts.image_class_labels, "image_class_labels.txt", 2, "<image id> <class id>",
                 [&](CubImage& im, const auto& f, const std::string& source, int64_t line) {
                     check_first(im.class_line, source, line, "class");
                     const int64_t c = parse_int(f[1], source, line, "class id");
                     WSOL_CHECK(c >= 1 && c <= ds.num_classes, where(source, line), "unknown class id ", c,
                                " (classes.txt has 1..", ds.num_classes, ")");
                     im.class_id = c;
                     im.class_line = line;
                 });
    p.keyed_file(texts.train_test_split, "train_test_split.txt", 2, "<image id> <0|1>",
                 [&](CubImage& im, const auto& f, const std::string& source, int64_t line) {
                     check_first(im.split_line, source, line, "split flag");
                     const int64_t s = parse_int(f[1], source, line, "split flag");
                     WSOL_CHECK(s == 0 || s == 1, where(source, line), "split flag ", s,
                                " is not 0 (test) or 1 (train)");
                     im.split = s;
                     im.split_line = line;
                 });
    p.keyed_file(texts.bounding_boxes, "bounding_boxes.txt", 5, "<image id> <x> <y> <width> <height>",
                 [&](CubImage& im, const auto& f, const std::string& source, int64_t line) {
                     check_first(im.box_line, source, line, "box");
                     const double x = parse_number(f[1], source, line, "x"), y = parse_number(f[2], source, line, "y");
                     const double w = parse_number(f[3], source, line, "width");
                     const double h = parse_number(f[4], source, line, "height");
                     WSOL_CHECK(w >= 0 && h >= 0, where(source, line), "negative box size ", w, "x", h);
                     im.box = Box{x, y, x + w, y + h};
                     im.box_line = line;
                 });
    p.finish(split);
    return ds;
}

Dataset read_cub(const std::string& root, CubSplit split, const ReadOptions& options) {
    auto need = [&](const char* name) {
        const std::string path = join_path(root, name);
        WSOL_CHECK(file_exists(path), path,
                   ": missing; read_cub expects the official CUB_200_2011 folder (images/, "
                   "images.txt, image_class_labels.txt, train_test_split.txt, "
                   "bounding_boxes.txt, classes.txt)");
        return read_file(path);
    };
    CubTexts t;
    t.images = need("images.txt");
    t.image_class_labels = need("image_class_labels.txt");
    t.train_test_split = need("train_test_split.txt");
    t.bounding_boxes = need("bounding_boxes.txt");
    t.classes = need("classes.txt");
    return parse_cub(t, root, split, options);
}

}  // namespace wsol::data
