// wsolevaluation metadata for score-map evaluation (format and checks in metadata.h).
#include "eval/metadata.h"

#include "data/text_lines.h"
#include "data/wsoleval.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::eval {

std::string strip_extension(const std::string& image_id) {
    const size_t slash = image_id.rfind('/');
    const size_t name = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = image_id.rfind('.');
    if (dot == std::string::npos || dot <= name) return image_id;
    return image_id.substr(0, dot);
}

WsolMetadata load_wsol_metadata(const std::string& dir) {
    // The one reader of the format (data/wsoleval.h), strict: any bad line is an error naming the
    // file and line. What score-map evaluation needs on top is checked here.
    const std::string ids_path = dir + "/image_ids.txt", labels_path = dir + "/class_labels.txt",
                      sizes_path = dir + "/image_sizes.txt", loc_path = dir + "/localization.txt";
    WSOL_CHECK(file_exists(ids_path), ids_path, ": missing (a wsolevaluation metadata folder holds image_ids.txt, "
               "class_labels.txt, image_sizes.txt, localization.txt)");
    WSOL_CHECK(file_exists(loc_path), loc_path, ": missing (the boxes or masks to evaluate against)");
    data::WsolevalTexts texts;
    texts.image_ids = read_file(ids_path);
    texts.localization = read_file(loc_path);  // not wsol-synth's mask_localization.txt: one kind at a time
    if (file_exists(sizes_path)) texts.image_sizes = read_file(sizes_path);
    // The labels are not needed to evaluate maps: without class_labels.txt every image reads as
    // class 0 and WsolMetadata::labels stays empty.
    const bool has_labels = file_exists(labels_path);
    if (has_labels) {
        texts.class_labels = read_file(labels_path);
    } else {
        for (const data::TextLine& line : data::split_lines(texts.image_ids)) {
            texts.class_labels += std::string(data::trim(line.text)) + ",0\n";
        }
    }
    const data::Dataset ds = data::parse_wsoleval(texts, dir, "");
    WSOL_CHECK(!ds.records.empty(), ids_path, ": no image ids");
    WsolMetadata meta;
    meta.dir = dir;
    size_t with_size = 0;
    bool any_boxes = false, masks = false;
    const data::Record* unsized = nullptr;  // the first image without a size
    for (const data::Record& r : ds.records) {
        if (r.width > 0) {
            ++with_size;
        } else if (unsized == nullptr) {
            unsized = &r;
        }
        any_boxes = any_boxes || !r.boxes.empty();
        masks = masks || !r.mask_paths.empty();
    }
    const size_t n = ds.records.size();
    WSOL_CHECK(with_size == 0 || unsized == nullptr, sizes_path, ": ", n - with_size, " of the ", n,
               " images have no size (e.g. '", unsized ? unsized->image_id : std::string(), "')");
    WSOL_CHECK(!(masks && any_boxes), loc_path, ": both boxes and masks; a metadata folder has one kind");
    for (const data::Record& r : ds.records) {
        meta.image_ids.push_back(r.image_id);
        if (has_labels) meta.labels.push_back(int(r.label));
        if (with_size == n) meta.sizes.push_back(ImageSize{r.width, r.height});
        if (masks) {
            WSOL_CHECK(!r.mask_paths.empty(), loc_path, ": no mask for image '", r.image_id, "'");
            // wsolevaluation reads the ignore mask of every image (the first mask line names it).
            WSOL_CHECK(!r.ignore_path.empty(), loc_path, ": the first mask line of '", r.image_id,
                       "' must name its ignore mask");
            meta.mask_paths.push_back(r.mask_paths);
            meta.ignore_paths.push_back(r.ignore_path);
            continue;
        }
        WSOL_CHECK(!r.boxes.empty(), loc_path, ": no box for image '", r.image_id, "'");
        WSOL_CHECK(with_size == n, sizes_path, ": missing or empty, but box metadata needs the image sizes");
        std::vector<Box> boxes;
        for (const data::Box& b : r.boxes) {
            // data::validate_record checked: finite, ordered, starting inside the image. Corners
            // are whole pixels; the end may overshoot the border (both protocols handle it).
            WSOL_CHECK(b.x1 < double(1 << 30) && b.y1 < double(1 << 30), loc_path, ": box of '", r.image_id,
                       "' has a coordinate beyond 2^30");
            boxes.push_back(Box{int(b.x0), int(b.y0), int(b.x1), int(b.y1)});
        }
        meta.boxes.push_back(std::move(boxes));
    }
    return meta;
}

}  // namespace wsol::eval
