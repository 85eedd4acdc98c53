// Writing the synthetic dataset: the file layouts, the thread pool, the all-or-nothing finish.
// (Rendering is in synth_draw.cpp; the layouts are described in docs/data.md.)
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "data/decode.h"
#include "data/sampling.h"
#include "data/synth.h"
#include "engine/error.h"

namespace wsol::data {

namespace fs = std::filesystem;

void SynthOptions::validate() const {
    WSOL_CHECK(!out_dir.empty(), "wsol-synth: no output folder");
    WSOL_CHECK(cub_layout || ilsvrc_layout, "wsol-synth: no layout selected (CUB, ILSVRC or both)");
    WSOL_CHECK(num_classes >= 1 && num_classes <= kSynthMaxClasses, "wsol-synth: classes ", num_classes, " outside 1..",
               kSynthMaxClasses, " (distinct shape/texture/colour combinations)");
    WSOL_CHECK(train_per_class >= 0 && val_per_class >= 0 && test_per_class >= 0 &&
                   train_per_class + val_per_class + test_per_class > 0 && train_per_class < (1 << 24) &&
                   val_per_class < (1 << 24) && test_per_class < (1 << 24),
               "wsol-synth: images per class (train ", train_per_class, ", val ", val_per_class, ", test ",
               test_per_class, ") must be >= 0 and not all zero");
    WSOL_CHECK(min_side >= 32 && min_side <= max_side && max_side <= 4096, "wsol-synth: image sides ", min_side, "..",
               max_side, " must satisfy 32 <= min <= max <= 4096");
    WSOL_CHECK(min_area > 0 && min_area <= max_area && max_area <= 0.9, "wsol-synth: object area ", min_area, "..",
               max_area, " must satisfy 0 < min <= max <= 0.9");
    WSOL_CHECK(min_distractors >= 0 && min_distractors <= max_distractors && max_distractors <= 100,
               "wsol-synth: distractors ", min_distractors, "..", max_distractors,
               " must satisfy 0 <= min <= max <= 100");
    WSOL_CHECK(jpeg_quality >= 1 && jpeg_quality <= 100, "wsol-synth: JPEG quality ", jpeg_quality, " outside 1..100");
    WSOL_CHECK(threads >= 0 && threads <= 1024, "wsol-synth: threads ", threads, " outside 0..1024");
}

namespace {

enum Layout { kCub = 0, kIlsvrc = 1 };
enum Split { kTrain = 0, kVal = 1, kTest = 2 };
const char* const kSplitNames[3] = {"train", "val", "test"};

struct Item {
    int layout = 0, split = 0, label = 0, number = 0;
    uint64_t key = 0;
    std::string image;  // image id: path under the layout's image root
    std::string mask;   // path under the layout's mask root
    // filled by the worker
    int width = 0, height = 0, distractors = 0;
    Box box;
    double mask_fraction = 0;
    int64_t bytes = 0;
};

std::string cub_class_dir(int label) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%03d.", label + 1);
    return prefix + synth_class(label).name;
}

std::string wnid(int label) {
    char id[16];
    std::snprintf(id, sizeof id, "n%08d", 1000000 + label);
    return id;
}

std::string numbered(const char* format, int n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, n);
    return buf;
}

std::string replace_extension(const std::string& path, const char* ext) {
    return path.substr(0, path.rfind('.')) + ext;
}

// The images of one layout, in the order their list files will hold them.
std::vector<Item> plan_layout(const SynthOptions& o, Layout layout) {
    std::vector<Item> items;
    const int per_split[3] = {o.train_per_class, o.val_per_class, o.test_per_class};
    for (int split : {kTrain, kVal, kTest}) {
        std::vector<Item> part;
        for (int c = 0; c < o.num_classes; ++c) {
            for (int k = 0; k < per_split[split]; ++k) {
                Item it;
                it.layout = layout;
                it.split = split;
                it.label = c;
                it.number = k;
                it.key = (uint64_t(layout) << 56) | (uint64_t(split) << 48) | (uint64_t(c) << 24) | uint64_t(k);
                part.push_back(it);
            }
        }
        if (layout == kIlsvrc && split == kTest) {
            // ImageNet's validation images come in mixed class order, numbered 1..N.
            const std::vector<int64_t> order = epoch_permutation(int64_t(part.size()), o.seed, 0x5EED);
            std::vector<Item> mixed;
            for (int64_t i : order) mixed.push_back(part[size_t(i)]);
            part = std::move(mixed);
        }
        for (size_t i = 0; i < part.size(); ++i) {
            Item& it = part[i];
            const int c = it.label;
            if (layout == kCub) {
                // Train and test share the class folder (numbered apart); val (CUBV2) is extra files.
                const int n = split == kTest ? o.train_per_class + it.number : it.number;
                it.image = cub_class_dir(c) + "/" +
                           (split == kVal ? numbered("val_%04d.jpg", it.number + 1)
                                          : synth_class(c).name + numbered("_%04d.jpg", n + 1));
            } else if (split == kTrain) {
                it.image = "train/" + wnid(c) + "/" + wnid(c) + numbered("_%d.JPEG", it.number + 1);
            } else if (split == kVal) {
                it.image = "val2/" + std::to_string(c) + "/" + std::to_string(it.number) + ".jpeg";
            } else {
                it.image = numbered("val/SYNTH_val_%08d.JPEG", int(i) + 1);
            }
            it.mask = replace_extension(it.image, ".png");
        }
        items.insert(items.end(), part.begin(), part.end());
    }
    return items;
}

// Plain write; the whole dataset becomes durable with one sync before the final rename.
void write_plain(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    WSOL_CHECK(out.good(), path, ": cannot create");
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    WSOL_CHECK(out.good(), path, ": write failed");
}

// Renders and writes one item into the staging tree.
void produce(const SynthOptions& o, const std::string& stage, Item& it) {
    const SynthImage img = render_synth_image(o, it.label, it.key);
    const std::string jpeg = encode_jpeg(img.image, o.jpeg_quality);
    const std::string png = encode_png(img.mask);
    const std::string root = stage + (it.layout == kCub ? "/CUB_200_2011/" : "/ILSVRC/");
    write_plain(root + (it.layout == kCub ? "images/" : "") + it.image, jpeg);
    write_plain(root + (it.layout == kCub ? "segmentations/" : "masks/") + it.mask, png);
    if (it.layout == kIlsvrc && it.split == kTest) {
        // ImageNet-style per-image annotation (PASCAL VOC XML, 0-based inclusive corners).
        std::ostringstream xml;
        const std::string stem = fs::path(it.image).stem().string();
        xml << "<annotation>\n\t<folder>val</folder>\n\t<filename>" << stem << "</filename>\n"
            << "\t<source><database>wsol-synth</database></source>\n"
            << "\t<size><width>" << img.image.width << "</width><height>" << img.image.height
            << "</height><depth>3</depth></size>\n\t<segmented>0</segmented>\n\t<object>\n\t\t<name>" << wnid(it.label)
            << "</name>\n\t\t<bndbox><xmin>" << img.box.x0 << "</xmin><ymin>" << img.box.y0 << "</ymin><xmax>"
            << img.box.x1 << "</xmax><ymax>" << img.box.y1 << "</ymax></bndbox>\n\t</object>\n</annotation>\n";
        write_plain(root + "val_xml/" + stem + ".xml", xml.str());
    }
    it.width = img.image.width;
    it.height = img.image.height;
    it.box = img.box;
    it.distractors = img.distractors;
    int64_t on = 0;
    for (uint8_t m : img.mask.pixels) on += m != 0;
    it.mask_fraction = double(on) / double(img.mask.pixels.size());
    it.bytes = int64_t(jpeg.size() + png.size());
}

// The wsolevaluation metadata of one split.
void write_metadata(const std::string& dir, const std::vector<const Item*>& items) {
    fs::create_directories(dir);
    std::string ids, labels, sizes, boxes, masks;
    for (const Item* it : items) {
        ids += it->image + "\n";
        labels += it->image + "," + std::to_string(it->label) + "\n";
        sizes += it->image + "," + std::to_string(it->width) + "," + std::to_string(it->height) + "\n";
        boxes += it->image + "," + std::to_string(int(it->box.x0)) + "," + std::to_string(int(it->box.y0)) + "," +
                 std::to_string(int(it->box.x1)) + "," + std::to_string(int(it->box.y1)) + "\n";
        masks += it->image + "," + it->mask + ",ignore_none.png\n";
    }
    write_plain(dir + "/image_ids.txt", ids);
    write_plain(dir + "/class_labels.txt", labels);
    write_plain(dir + "/image_sizes.txt", sizes);
    write_plain(dir + "/localization.txt", boxes);
    write_plain(dir + "/mask_localization.txt", masks);
}

// CUB-200-2011's own list files for the train and test images (val images are not in them).
void write_cub_official(const std::string& root, const SynthOptions& o, const std::vector<const Item*>& items) {
    std::string images, labels, split, boxes, classes;
    int id = 0;
    for (const Item* it : items) {
        if (it->split == kVal) continue;
        const std::string n = std::to_string(++id);
        images += n + " " + it->image + "\n";
        labels += n + " " + std::to_string(it->label + 1) + "\n";
        split += n + (it->split == kTrain ? " 1\n" : " 0\n");
        char box[128];
        std::snprintf(box, sizeof box, " %.1f %.1f %.1f %.1f\n", it->box.x0, it->box.y0, it->box.x1 - it->box.x0 + 1,
                      it->box.y1 - it->box.y0 + 1);
        boxes += n + box;
    }
    for (int c = 0; c < o.num_classes; ++c) classes += std::to_string(c + 1) + " " + cub_class_dir(c) + "\n";
    write_plain(root + "/images.txt", images);
    write_plain(root + "/image_class_labels.txt", labels);
    write_plain(root + "/train_test_split.txt", split);
    write_plain(root + "/bounding_boxes.txt", boxes);
    write_plain(root + "/classes.txt", classes);
}

void sync_tree(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    WSOL_CHECK(fd >= 0, path, ": cannot open to sync");
    const int rc = ::syncfs(fd);
    ::close(fd);
    WSOL_CHECK(rc == 0, path, ": syncing the written files failed");
}

}  // namespace

std::string SynthSummary::text() const {
    std::ostringstream out;
    out.precision(3);
    out << "wsol-synth: " << images << " images, " << double(bytes) / 1e6 << " MB in " << seconds << " s ("
        << (seconds > 0 ? double(images) / seconds : 0.0) << " images/s)\n";
    for (const std::string& l : lines) out << "  " << l << "\n";
    out << "  image sizes " << min_width << ".." << max_width << " x " << min_height << ".." << max_height << "\n";
    out << "  object box area " << 100 * box_area_min << "% .. " << 100 * box_area_max << "% of the image (mean "
        << 100 * box_area_mean << "%), object pixels " << 100 * mask_area_mean << "% on average\n";
    out << "  distractors per image " << distractors_mean << " on average";
    return out.str();
}

SynthSummary write_synth_dataset(const SynthOptions& o, const std::function<void(int64_t, int64_t)>& progress) {
    o.validate();
    const auto start = std::chrono::steady_clock::now();
    const std::string out = fs::path(o.out_dir).lexically_normal().string();
    const std::string stage = out + ".partial";
    std::error_code ec;
    WSOL_CHECK(o.overwrite || !fs::exists(out, ec), out, ": exists (pass --overwrite to replace it)");
    fs::remove_all(stage, ec);  // a previous interrupted run
    fs::create_directories(stage);

    std::vector<Item> items;
    std::vector<std::string> folders;
    if (o.cub_layout) {
        for (const Item& it : plan_layout(o, kCub)) items.push_back(it);
        for (int c = 0; c < o.num_classes; ++c) {
            folders.push_back(stage + "/CUB_200_2011/images/" + cub_class_dir(c));
            folders.push_back(stage + "/CUB_200_2011/segmentations/" + cub_class_dir(c));
        }
    }
    if (o.ilsvrc_layout) {
        for (const Item& it : plan_layout(o, kIlsvrc)) items.push_back(it);
        for (const char* top : {"/ILSVRC/", "/ILSVRC/masks/"}) {
            for (int c = 0; c < o.num_classes; ++c) {
                folders.push_back(stage + top + "train/" + wnid(c));
                folders.push_back(stage + top + "val2/" + std::to_string(c));
            }
            folders.push_back(stage + top + "val");
        }
        folders.push_back(stage + "/ILSVRC/val_xml");
    }
    for (const std::string& f : folders) fs::create_directories(f);

    // Render and write with a pool; each item's output depends on its key only.
    const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0}, done{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        while (true) {
            const size_t i = next.fetch_add(1);
            if (i >= items.size()) return;
            try {
                produce(o, stage, items[i]);
            } catch (...) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                next = items.size();  // stop the others
                return;
            }
            const size_t n = ++done;
            if (progress && (n % 256 == 0 || n == items.size())) {
                std::lock_guard<std::mutex> lock(failure_mutex);
                progress(int64_t(n), int64_t(items.size()));
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
    if (failure) {
        fs::remove_all(stage, ec);
        std::rethrow_exception(failure);
    }

    // Lists and metadata, then one sync and the rename that makes the dataset appear.
    SynthSummary summary;
    const std::string blank = encode_png(GrayImage(224, 224));
    for (int layout : {kCub, kIlsvrc}) {
        if ((layout == kCub && !o.cub_layout) || (layout == kIlsvrc && !o.ilsvrc_layout)) continue;
        const std::string name = layout == kCub ? "CUB" : "ILSVRC";
        std::vector<const Item*> all;
        for (int split : {kTrain, kVal, kTest}) {
            std::vector<const Item*> part;
            for (const Item& it : items)
                if (it.layout == layout && it.split == split) part.push_back(&it);
            all.insert(all.end(), part.begin(), part.end());
            write_metadata(stage + "/metadata/" + name + "/" + kSplitNames[split], part);
            summary.lines.push_back(name + " " + kSplitNames[split] + ": " + std::to_string(part.size()) + " images");
        }
        if (layout == kCub) {
            write_cub_official(stage + "/CUB_200_2011", o, all);
            write_plain(stage + "/CUB_200_2011/segmentations/ignore_none.png", blank);
        } else {
            std::string mapping;
            for (int c = 0; c < o.num_classes; ++c) mapping += wnid(c) + " " + synth_class(c).name + "\n";
            write_plain(stage + "/ILSVRC/LOC_synset_mapping.txt", mapping);
            write_plain(stage + "/ILSVRC/masks/ignore_none.png", blank);
        }
    }
    for (const Item& it : items) {
        const double area = (it.box.x1 - it.box.x0 + 1) * (it.box.y1 - it.box.y0 + 1) / double(it.width * it.height);
        summary.box_area_min = std::min(summary.box_area_min, area);
        summary.box_area_max = std::max(summary.box_area_max, area);
        summary.box_area_mean += area / double(items.size());
        summary.mask_area_mean += it.mask_fraction / double(items.size());
        summary.distractors_mean += it.distractors / double(items.size());
        summary.min_width = std::min(summary.min_width, it.width);
        summary.max_width = std::max(summary.max_width, it.width);
        summary.min_height = std::min(summary.min_height, it.height);
        summary.max_height = std::max(summary.max_height, it.height);
        summary.bytes += it.bytes;
    }
    summary.images = int64_t(items.size());
    sync_tree(stage);
    if (fs::exists(out, ec)) {
        const std::string old = out + ".old";
        fs::remove_all(old, ec);
        fs::rename(out, old);
        fs::rename(stage, out);
        fs::remove_all(old, ec);
    } else {
        fs::rename(stage, out);
    }
    summary.lines.push_back("written to " + out + " (" + std::to_string(o.num_classes) + " classes, seed " +
                            std::to_string(o.seed) + ")");
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace wsol::data
