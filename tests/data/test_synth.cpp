// wsol-synth: exact boxes, class-independent backgrounds, determinism, and that every reader of the
// data layer reads what it writes.
#include <filesystem>

#include "data/cub.h"
#include "data/decode.h"
#include "data/ilsvrc.h"
#include "data/synth.h"
#include "data/wsoleval.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

// The inclusive extent of a mask's non-zero pixels.
Box mask_extent(const GrayImage& m) {
    int x0 = m.width, y0 = m.height, x1 = -1, y1 = -1;
    for (int y = 0; y < m.height; ++y)
        for (int x = 0; x < m.width; ++x)
            if (m.pixels[size_t(y) * size_t(m.width) + size_t(x)]) {
                x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    return Box{double(x0), double(y0), double(x1), double(y1)};
}

SynthOptions small_synth(const std::string& out) {
    SynthOptions o;
    o.out_dir = out;
    o.num_classes = 3;
    o.train_per_class = 3;
    o.val_per_class = 1;
    o.test_per_class = 2;
    o.min_side = 64;
    o.max_side = 96;
    o.seed = 11;
    o.threads = 2;
    return o;
}

TEST(Synth, BoxIsTheMaskExtentAndRenderingIsDeterministic) {
    SynthOptions o = small_synth("unused");
    o.min_side = 200;
    o.max_side = 300;
    for (int label = 0; label < 12; ++label) {
        const SynthImage a = render_synth_image(o, label, 1000 + uint64_t(label));
        EXPECT_EQ(a.box, mask_extent(a.mask));
        const double box_pixels = (a.box.x1 - a.box.x0 + 1) * (a.box.y1 - a.box.y0 + 1);
        const double box_area = box_pixels / (a.image.width * a.image.height);
        EXPECT_GT(box_area, 0.03) << label;
        EXPECT_LT(box_area, 0.8) << label;
        int64_t on = 0;
        for (uint8_t m : a.mask.pixels) on += m != 0;
        EXPECT_GT(double(on), box_pixels / 4) << label;  // every shape fills a good part of its box
        const SynthImage b = render_synth_image(o, label, 1000 + uint64_t(label));
        EXPECT_EQ(a.image.pixels, b.image.pixels);
    }
    EXPECT_EQ(synth_class(0).name, "Red_Striped_Ellipse");
    EXPECT_EQ(synth_class(12).name, "Lime_Wavy_Triangle");  // 12 % 9 = 3, 12 % 7 = 5, 12 % 10 = 2
    EXPECT_WSOL_ERROR(synth_class(630), "label 630 outside 0..629");
}

// The class changes the object only: the same image key drawn for two classes has the same size,
// the same background and distractors everywhere outside the two objects.
TEST(Synth, BackgroundDoesNotDependOnTheClass) {
    const SynthOptions o = small_synth("unused");
    for (uint64_t key : {7u, 8u, 9u}) {
        const SynthImage a = render_synth_image(o, 0, key), b = render_synth_image(o, 5, key);
        ASSERT_EQ(a.image.width, b.image.width);
        ASSERT_EQ(a.image.height, b.image.height);
        size_t outside = 0;
        for (size_t i = 0; i < a.mask.pixels.size(); ++i) {
            if (a.mask.pixels[i] || b.mask.pixels[i]) continue;
            ++outside;
            for (int c = 0; c < 3; ++c) ASSERT_EQ(a.image.pixels[3 * i + size_t(c)], b.image.pixels[3 * i + size_t(c)]);
        }
        EXPECT_GT(outside, a.mask.pixels.size() / 5);
    }
}

TEST(Synth, WritesDatasetsThatTheReadersRead) {
    ScratchDir dir("synth");
    const SynthOptions o = small_synth(dir / "ds");
    const SynthSummary s = write_synth_dataset(o);
    EXPECT_EQ(s.images, 2 * 3 * (3 + 1 + 2));
    EXPECT_FALSE(std::filesystem::exists(dir / "ds.partial"));
    EXPECT_NE(s.text().find("CUB val: 3 images"), std::string::npos) << s.text();

    // CUB, official layout.
    const Dataset cub_train = read_cub(dir / "ds/CUB_200_2011", CubSplit::Train);
    const Dataset cub_test = read_cub(dir / "ds/CUB_200_2011", CubSplit::Test);
    EXPECT_EQ(cub_train.size(), 9);
    EXPECT_EQ(cub_test.size(), 6);
    EXPECT_EQ(cub_train.class_names[2], "003.Yellow_Checkered_Triangle");
    // CUB, wsolevaluation metadata: the same images, the box one pixel tighter at the end (inclusive).
    ReadOptions check;
    check.check_files = true;
    const Dataset wsol_test = read_wsoleval(dir / "ds/metadata/CUB/test", dir / "ds/CUB_200_2011/images", check);
    ASSERT_EQ(wsol_test.size(), 6);
    for (int64_t i = 0; i < wsol_test.size(); ++i) {
        const Record& a = wsol_test.records[size_t(i)];
        const Record& b = cub_test.records[size_t(i)];
        EXPECT_EQ(a.image_id, b.image_id);
        EXPECT_EQ(a.label, b.label);
        EXPECT_EQ(a.boxes[0].x0, b.boxes[0].x0);
        EXPECT_EQ(a.boxes[0].x1 + 1, b.boxes[0].x1);
        // The file really has that size, and the mask PNG that extent.
        const DecodedImage img = load_image(a.path);
        EXPECT_EQ(img.source_width, a.width);
        EXPECT_EQ(img.source_height, a.height);
        ASSERT_EQ(a.mask_paths.size(), 1u);
        const GrayImage mask =
            decode_gray_png(read_file(dir / ("ds/CUB_200_2011/segmentations/" + a.mask_paths[0])), a.mask_paths[0]);
        EXPECT_EQ(mask.width, a.width);
        EXPECT_EQ(mask_extent(mask), a.boxes[0]);
    }
    EXPECT_EQ(read_wsoleval(dir / "ds/metadata/CUB/val", dir / "ds/CUB_200_2011/images", check).size(), 3);

    // ILSVRC: ImageFolder train, wsolevaluation test = the XML annotations.
    const Dataset train = read_image_folder(dir / "ds/ILSVRC/train");
    EXPECT_EQ(train.size(), 9);
    const std::vector<std::string> wnids = train.class_names;
    const Dataset xml = read_ilsvrc_val(dir / "ds/ILSVRC/val", dir / "ds/ILSVRC/val_xml", wnids, check);
    const Dataset test = read_wsoleval(dir / "ds/metadata/ILSVRC/test", dir / "ds/ILSVRC", check);
    ASSERT_EQ(xml.size(), 6);
    ASSERT_EQ(test.size(), 6);
    for (int64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(xml.records[size_t(i)].label, test.records[size_t(i)].label);
        EXPECT_EQ(xml.records[size_t(i)].boxes, test.records[size_t(i)].boxes);
        EXPECT_EQ("val/" + xml.records[size_t(i)].image_id, test.records[size_t(i)].image_id);
    }
    EXPECT_EQ(read_wsoleval(dir / "ds/metadata/ILSVRC/val", dir / "ds/ILSVRC", check).records[0].image_id,
              "val2/0/0.jpeg");
    EXPECT_TRUE(file_exists(dir / "ds/ILSVRC/masks/ignore_none.png"));

    // Refuses to overwrite unless asked; the dataset does not depend on the thread count.
    EXPECT_WSOL_ERROR(write_synth_dataset(o), "exists (pass --overwrite");
    SynthOptions again = o;
    again.overwrite = true;
    again.threads = 1;
    const std::string image_before = read_file(dir / "ds/ILSVRC/val/SYNTH_val_00000004.JPEG");
    const std::string boxes_before = read_file(dir / "ds/metadata/ILSVRC/test/localization.txt");
    write_synth_dataset(again);
    EXPECT_EQ(read_file(dir / "ds/ILSVRC/val/SYNTH_val_00000004.JPEG"), image_before);
    EXPECT_EQ(read_file(dir / "ds/metadata/ILSVRC/test/localization.txt"), boxes_before);
}

TEST(Synth, BadOptionsAreErrors) {
    SynthOptions o = small_synth("/tmp/x");
    o.num_classes = 700;
    EXPECT_WSOL_ERROR(o.validate(), "classes 700 outside 1..630");
    o = small_synth("/tmp/x");
    o.min_area = 0.7;
    EXPECT_WSOL_ERROR(o.validate(), "object area 0.7..0.6");
    o = small_synth("");
    EXPECT_WSOL_ERROR(o.validate(), "no output folder");
}

}  // namespace
}  // namespace wsol::data
