// The wsolevaluation metadata reader on the real CUB and ILSVRC files (../shared/data/wsolevaluation,
// counts and first lines from ../shared/reference/evaluation.md B1) and on broken variants.
#include <map>

#include "data/text_lines.h"
#include "data/wsoleval.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

// The shared data folder: $WSOL_SHARED_DIR when set (a git worktree's ../shared is not the project's),
// else the build's WSOL_SHARED_DIR define.
std::string shared_dir() {
    const char* env = std::getenv("WSOL_SHARED_DIR");
    return env && *env ? env : WSOL_SHARED_DIR;
}

std::string metadata(const std::string& rel) {
    return shared_dir() + "/data/wsolevaluation/" + rel;
}

#define SKIP_WITHOUT_SHARED_DATA()                         \
    if (!file_exists(metadata("CUB/train/image_ids.txt"))) \
    GTEST_SKIP() << "no wsolevaluation metadata under " << shared_dir() << " (set WSOL_SHARED_DIR)"

size_t total_boxes(const Dataset& ds) {
    size_t n = 0;
    for (const Record& r : ds.records) n += r.boxes.size();
    return n;
}

TEST(Wsoleval, RealCubSplits) {
    SKIP_WITHOUT_SHARED_DATA();
    const Dataset train = read_wsoleval(metadata("CUB/train"), "/data/CUB");
    EXPECT_EQ(train.size(), 5994);
    EXPECT_EQ(train.num_classes, 200);
    EXPECT_EQ(total_boxes(train), 5994u);
    const Record& first = train.records[0];
    EXPECT_EQ(first.image_id, "001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg");
    EXPECT_EQ(first.path, "/data/CUB/001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg");
    EXPECT_EQ(first.label, 0);
    EXPECT_EQ(first.width, 500);
    EXPECT_EQ(first.height, 336);
    EXPECT_EQ(first.boxes[0], (Box{139, 30, 292, 294}));

    const Dataset val = read_wsoleval(metadata("CUB/val"), "");  // CUBV2 (train-fullsup)
    EXPECT_EQ(val.size(), 1000);
    EXPECT_EQ(val.records[0].image_id, "001.Black_footed_Albatross/30107316117.jpg");
    EXPECT_EQ(val.records[0].boxes[0], (Box{176, 136, 459, 291}));
    EXPECT_EQ(val.records[0].width, 560);

    const Dataset test = read_wsoleval(metadata("CUB/test"), "");
    EXPECT_EQ(test.size(), 5794);
    EXPECT_EQ(test.records.back().label, 199);
    // Per-class counts stated in evaluation.md: test 11..30 per class.
    const auto per_class = indices_by_class(test);
    ASSERT_EQ(per_class.size(), 200u);
    for (const auto& members : per_class) {
        EXPECT_GE(members.size(), 11u);
        EXPECT_LE(members.size(), 30u);
    }
}

TEST(Wsoleval, RealIlsvrcSplits) {
    SKIP_WITHOUT_SHARED_DATA();
    const Dataset test = read_wsoleval(metadata("ILSVRC/test"), "/data/ILSVRC");
    EXPECT_EQ(test.size(), 50000);
    EXPECT_EQ(test.num_classes, 1000);
    EXPECT_EQ(total_boxes(test), 80477u);
    EXPECT_EQ(test.records[0].label, 65);
    EXPECT_EQ(test.records[0].boxes[0], (Box{111, 108, 441, 193}));
    const Record& second = test.records[1];
    EXPECT_EQ(second.image_id, "val/ILSVRC2012_val_00000002.JPEG");
    ASSERT_EQ(second.boxes.size(), 2u);
    EXPECT_EQ(second.boxes[0], (Box{45, 49, 499, 162}));
    EXPECT_EQ(second.boxes[1], (Box{2, 69, 437, 207}));
    for (const auto& members : indices_by_class(test)) EXPECT_EQ(members.size(), 50u);

    const Dataset val = read_wsoleval(metadata("ILSVRC/val"), "/data/ILSVRC");  // ImageNetV2
    EXPECT_EQ(val.size(), 10000);
    EXPECT_EQ(total_boxes(val), 18532u);
    std::map<size_t, int> boxes_per_image;
    size_t most = 0;
    std::string most_id;
    for (const Record& r : val.records) {
        ++boxes_per_image[r.boxes.size()];
        if (r.boxes.size() > most) most = r.boxes.size(), most_id = r.image_id;
        // Inclusive corners: x1 <= W - 1 on every line (asserted by wsolevaluation's tests too).
        for (const Box& b : r.boxes) EXPECT_LE(b.x1, r.width - 1);
    }
    EXPECT_EQ(boxes_per_image[1], 7948);
    EXPECT_EQ(boxes_per_image[2], 1033);
    EXPECT_EQ(boxes_per_image[3], 347);
    EXPECT_EQ(most, 259u);
    EXPECT_EQ(most_id, "val2/971/1.jpeg");
}

WsolevalTexts tiny() {
    WsolevalTexts t;
    t.image_ids = "a/1.jpg\na/2.jpg\nb/3.jpg";  // no final newline, as in the real files
    t.class_labels = "a/1.jpg,0\na/2.jpg,0\nb/3.jpg,1";
    t.image_sizes = "a/1.jpg,100,80\na/2.jpg,50,50\nb/3.jpg,60,40";
    t.localization = "a/1.jpg,10,10,50,40\na/2.jpg,0,0,49,49\nb/3.jpg,5,5,20,20\nb/3.jpg,30,10,59,39";
    return t;
}

TEST(Wsoleval, TinyParsesWithCrlfAndOrderIndependence) {
    WsolevalTexts t = tiny();
    t.class_labels = "b/3.jpg,1\r\na/1.jpg,0\r\na/2.jpg,0\r\n";  // other order, CRLF, final newline
    const Dataset ds = parse_wsoleval(t, "meta", "root");
    ASSERT_EQ(ds.size(), 3);
    EXPECT_EQ(ds.records[2].label, 1);
    EXPECT_EQ(ds.records[2].boxes.size(), 2u);
    EXPECT_EQ(ds.records[0].path, "root/a/1.jpg");
    EXPECT_EQ(ds.num_classes, 2);
}

TEST(Wsoleval, MaskLocalization) {
    WsolevalTexts t = tiny();
    t.localization = "";
    t.mask_localization = "a/1.jpg,m/1_0.png,m/1_ignore.png\na/1.jpg,m/1_1.png,\nb/3.jpg,m/3_0.png,m/3_ignore.png";
    const Dataset ds = parse_wsoleval(t, "meta", "");
    EXPECT_EQ(ds.records[0].mask_paths, (std::vector<std::string>{"m/1_0.png", "m/1_1.png"}));
    EXPECT_EQ(ds.records[0].ignore_path, "m/1_ignore.png");
    EXPECT_TRUE(ds.records[1].mask_paths.empty());
    t.mask_localization = "a/1.jpg,m/1_0.png,i.png\na/1.jpg,m/1_1.png,i.png";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/mask_localization.txt:2: ignore mask given again");
}

TEST(Wsoleval, BadInputNamesFileAndLine) {
    WsolevalTexts t = tiny();
    t.class_labels = "a/1.jpg,0\na/2.jpg,x\nb/3.jpg,1";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/class_labels.txt:2: class label: 'x' is not an integer");
    t = tiny();
    t.class_labels = "a/1.jpg,0\nb/3.jpg,1";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/image_ids.txt:2: a/2.jpg has no line in class_labels.txt");
    t = tiny();
    t.class_labels += "\nz/9.jpg,1";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/class_labels.txt:4: image id 'z/9.jpg' is not in image_ids");
    t = tiny();
    t.image_ids += "\na/1.jpg";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/image_ids.txt:4: image id a/1.jpg is listed twice");
    t = tiny();
    t.localization = "a/1.jpg,10,10,50\n";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/localization.txt:1: expected <image_id>,<x0>");
    t = tiny();
    t.localization = "b/3.jpg,70,5,80,20";  // starts right of the 60-pixel-wide image
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "box [70, 5, 80, 20] lies outside the 60x40 image b/3.jpg");
    t = tiny();
    t.localization = "b/3.jpg,30,5,20,20";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "has its end before its start");
    t = tiny();
    t.class_labels = "a/1.jpg,0\na/2.jpg,4294967296\nb/3.jpg,1";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", ""), "meta/class_labels.txt:2: class label 4294967296 is too large");
    ReadOptions two_classes;
    two_classes.num_classes = 2;
    t = tiny();
    t.class_labels = "a/1.jpg,0\na/2.jpg,2\nb/3.jpg,1";
    EXPECT_WSOL_ERROR(parse_wsoleval(t, "meta", "", two_classes),
                      "meta/image_ids.txt:2: unknown class id 2 for a/2.jpg");
}

TEST(Wsoleval, SkipBadDropsAndCounts) {
    WsolevalTexts t = tiny();
    t.class_labels = "a/1.jpg,0\na/2.jpg,x\nb/3.jpg,1\nghost.jpg,3";
    t.localization += "\nb/3.jpg,1,2,3";  // malformed: the whole image goes
    ReadOptions skip;
    skip.skip_bad = true;
    const Dataset ds = parse_wsoleval(t, "meta", "", skip);
    ASSERT_EQ(ds.size(), 1);
    EXPECT_EQ(ds.records[0].image_id, "a/1.jpg");
    ASSERT_EQ(ds.skipped.size(), 3u);  // ghost line, a/2.jpg, b/3.jpg
    const std::string summary = skipped_summary(ds.skipped);
    EXPECT_NE(summary.find("3 inputs skipped"), std::string::npos) << summary;
    EXPECT_NE(summary.find("class_labels.txt:2"), std::string::npos) << summary;
}

TEST(TextLines, EndingsAndNumbers) {
    const auto lines = split_lines("a\r\nb\n\n  \rc\rd");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[2].text, "c");
    EXPECT_EQ(lines[2].number, 5);  // blank lines still count
    EXPECT_EQ(parse_int(" 42", "f", 1, "n"), 42);
    EXPECT_WSOL_ERROR(parse_int("4 2", "f", 3, "n"), "f:3: n: '4 2' is not an integer");
    EXPECT_WSOL_ERROR(parse_int("99999999999999999999", "f", 1, "n"), "is not an integer");
    EXPECT_EQ(parse_number("60.0", "f", 1, "x"), 60.0);
    EXPECT_WSOL_ERROR(parse_number("nan", "f", 1, "x"), "is not a finite number");
    EXPECT_EQ(split_fields("a,,b", ',').size(), 3u);
    EXPECT_EQ(join_path("root/", "x/y"), "root/x/y");
}

}  // namespace
}  // namespace wsol::data
