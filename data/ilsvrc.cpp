// ImageFolder trees and ImageNet validation XML (see ilsvrc.h).
#include "data/ilsvrc.h"

#include <algorithm>
#include <filesystem>

#include "data/text_lines.h"
#include "engine/error.h"
#include "engine/file_util.h"

namespace wsol::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The content of the next element <tag ...>content</tag> at or after `pos` in `text`; advances pos
// past it. PASCAL-VOC annotations are flat enough that no element contains one of its own name.
bool next_element(std::string_view text, std::string_view tag, size_t& pos, std::string_view& content) {
    // (Built with append: GCC 12 warns falsely (-Wrestrict) on "</" + std::string(tag).)
    std::string open("<"), close("</");
    open.append(tag);
    close.append(tag).append(">");
    while (true) {
        const size_t at = text.find(open, pos);
        if (at == std::string_view::npos) return false;
        const size_t after = at + open.size();
        // "<name>" or "<name attr=...>", not "<names>".
        if (after >= text.size() || (text[after] != '>' && text[after] != ' ' && text[after] != '\t' &&
                                     text[after] != '\n' && text[after] != '\r')) {
            pos = after;
            continue;
        }
        const size_t gt = text.find('>', after);
        if (gt == std::string_view::npos) return false;
        const size_t end = text.find(close, gt + 1);
        if (end == std::string_view::npos) return false;
        content = text.substr(gt + 1, end - gt - 1);
        pos = end + close.size();
        return true;
    }
}

std::string_view element(std::string_view text, std::string_view tag, const std::string& source) {
    size_t pos = 0;
    std::string_view content;
    WSOL_CHECK(next_element(text, tag, pos, content), source, ": annotation has no <", tag, "> element");
    return trim(content);
}

double xml_number(std::string_view text, std::string_view tag, const std::string& source) {
    const std::string_view v = element(text, tag, source);
    return parse_number(v, source, 0, std::string(tag).c_str());
}

}  // namespace

std::vector<std::string> list_class_folders(const std::string& root) {
    std::error_code ec;
    WSOL_CHECK(fs::is_directory(root, ec), root, ": not a directory (expected one folder per class)");
    std::vector<std::string> classes;
    for (const auto& entry : fs::directory_iterator(root, ec))
        if (entry.is_directory()) classes.push_back(entry.path().filename().string());
    WSOL_CHECK(!ec, root, ": cannot list (", ec.message(), ")");
    std::sort(classes.begin(), classes.end());
    return classes;
}

Dataset read_image_folder(const std::string& root, const ReadOptions& options,
                          const std::vector<std::string>& extensions) {
    Dataset ds;
    ds.name = "image folder " + root;
    ds.class_names = list_class_folders(root);
    WSOL_CHECK(!ds.class_names.empty(), root, ": no class folders");
    ds.num_classes = int64_t(ds.class_names.size());
    std::vector<std::string> wanted;
    for (const std::string& e : extensions) wanted.push_back(lower(e));
    for (size_t c = 0; c < ds.class_names.size(); ++c) {
        const std::string dir = join_path(root, ds.class_names[c]);
        std::vector<std::string> files;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (!entry.is_regular_file()) continue;
            const std::string ext = lower(entry.path().extension().string());
            if (std::find(wanted.begin(), wanted.end(), ext) != wanted.end())
                files.push_back(entry.path().filename().string());
        }
        WSOL_CHECK(!ec, dir, ": cannot list (", ec.message(), ")");
        std::sort(files.begin(), files.end());
        for (const std::string& f : files) {
            Record r;
            r.image_id = ds.class_names[c] + "/" + f;
            r.path = join_path(dir, f);
            r.label = int64_t(c);
            const std::string at = r.path + ": ";
            admit_record(ds, std::move(r), options, at);
        }
    }
    return ds;
}

ImagenetAnnotation parse_imagenet_xml(std::string_view xml, const std::string& source) {
    ImagenetAnnotation a;
    a.filename = std::string(element(xml, "filename", source));
    WSOL_CHECK(!a.filename.empty(), source, ": empty <filename>");
    const std::string_view size = element(xml, "size", source);
    const double w = xml_number(size, "width", source), h = xml_number(size, "height", source);
    WSOL_CHECK(w >= 1 && h >= 1 && w < (1 << 30) && h < (1 << 30) && w == int(w) && h == int(h), source,
               ": image size ", w, "x", h, " is not a valid size");
    a.width = int(w);
    a.height = int(h);
    size_t pos = 0;
    std::string_view object;
    while (next_element(xml, "object", pos, object)) {
        XmlObject o;
        o.name = std::string(element(object, "name", source));
        const std::string_view box = element(object, "bndbox", source);
        o.box = Box{xml_number(box, "xmin", source), xml_number(box, "ymin", source), xml_number(box, "xmax", source),
                    xml_number(box, "ymax", source)};
        a.objects.push_back(std::move(o));
    }
    WSOL_CHECK(!a.objects.empty(), source, ": annotation has no <object>");
    return a;
}

Record ilsvrc_val_record(const ImagenetAnnotation& a, const std::vector<std::string>& wnids,
                         const std::string& image_dir, bool foldered, const std::string& source) {
    const std::string& wnid = a.objects.front().name;
    const auto it = std::lower_bound(wnids.begin(), wnids.end(), wnid);
    WSOL_CHECK(it != wnids.end() && *it == wnid, source, ": unknown class id (wnid) '", wnid.substr(0, 100),
               "', not among the ", wnids.size(), " training classes");
    Record r;
    r.label = int64_t(it - wnids.begin());
    r.width = a.width;
    r.height = a.height;
    const std::string file = a.filename.find('.') == std::string::npos ? a.filename + ".JPEG" : a.filename;
    r.image_id = file;
    r.path = join_path(image_dir, foldered ? wnid + "/" + file : file);
    for (const XmlObject& o : a.objects) {
        if (o.name != wnid) continue;  // wsolevaluation keeps the GT class's boxes only
        // ImageNet's corners are inclusive pixel indices; clip the end to the last pixel as the
        // wsolevaluation files do (their x1 <= W - 1 everywhere).
        r.boxes.push_back(
            Box{o.box.x0, o.box.y0, std::min(o.box.x1, double(a.width - 1)), std::min(o.box.y1, double(a.height - 1))});
    }
    return r;
}

Dataset read_ilsvrc_val(const std::string& image_dir, const std::string& annotation_dir,
                        const std::vector<std::string>& wnids, const ReadOptions& options, bool foldered) {
    WSOL_CHECK(std::is_sorted(wnids.begin(), wnids.end()) && !wnids.empty(),
               "read_ilsvrc_val: the wnid list must be the sorted training classes (got ", wnids.size(), " names)");
    Dataset ds;
    ds.name = "ILSVRC val " + image_dir;
    ds.class_names = wnids;
    ds.num_classes = int64_t(wnids.size());
    std::error_code ec;
    WSOL_CHECK(fs::is_directory(annotation_dir, ec), annotation_dir, ": not a directory of ImageNet XML annotations");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(annotation_dir, ec))
        if (entry.is_regular_file() && lower(entry.path().extension().string()) == ".xml")
            files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    WSOL_CHECK(!files.empty(), annotation_dir, ": no .xml annotation files");
    for (const std::string& f : files) {
        Record r;
        try {
            r = ilsvrc_val_record(parse_imagenet_xml(read_file(f), f), wnids, image_dir, foldered, f);
        } catch (const Error& e) {
            if (!options.skip_bad) throw;
            ds.skipped.push_back(SkippedInput{f, e.what()});
            continue;
        }
        admit_record(ds, std::move(r), options, f + ": ");
    }
    return ds;
}

}  // namespace wsol::data
