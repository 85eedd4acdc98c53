// CUB official layout, ImageFolder trees, ImageNet XML, the seeds' list files, auxiliary sampling.
// The small list excerpts below are copied from the seeds' data files (CSFN's Data/ folder) to keep
// their exact bytes (CRLF, double backslashes).
#include "data/cub.h"
#include "data/ilsvrc.h"
#include "data/sampling.h"
#include "data/seed_lists.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

CubTexts tiny_cub() {
    CubTexts t;
    t.classes = "1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n3 003.Sooty_Albatross\n";
    t.images =
        "1 001.Black_footed_Albatross/a1.jpg\n2 001.Black_footed_Albatross/a2.jpg\n"
        "3 002.Laysan_Albatross/b1.jpg\n4 003.Sooty_Albatross/c1.jpg\n5 003.Sooty_Albatross/c2.jpg\n";
    t.image_class_labels = "1 1\n2 1\n3 2\n4 3\n5 3\n";
    t.train_test_split = "1 1\n2 0\n3 1\n4 0\n5 1\n";
    t.bounding_boxes = "1 60.0 27.0 325.0 304.0\n2 1.0 2.0 3.0 4.0\n3 10.5 20.0 30.0 40.0\n4 0 0 10 10\n5 5 5 5 5\n";
    return t;
}

TEST(Cub, OfficialLayout) {
    const Dataset train = parse_cub(tiny_cub(), "/cub", CubSplit::Train);
    ASSERT_EQ(train.size(), 3);
    EXPECT_EQ(train.num_classes, 3);
    EXPECT_EQ(train.class_names[1], "002.Laysan_Albatross");
    EXPECT_EQ(train.records[0].image_id, "001.Black_footed_Albatross/a1.jpg");
    EXPECT_EQ(train.records[0].path, "/cub/images/001.Black_footed_Albatross/a1.jpg");
    // (x, y, w, h) = (60, 27, 325, 304) -> corners (60, 27, 385, 331): SAT's test_bounding_box.txt
    // first line is "60.0 27.0 385.0 331.0 335 500" for that image.
    EXPECT_EQ(train.records[0].boxes[0], (Box{60, 27, 385, 331}));
    EXPECT_EQ(train.records[1].label, 1);
    EXPECT_EQ(train.records[2].label, 2);
    const Dataset test = parse_cub(tiny_cub(), "/cub", CubSplit::Test);
    EXPECT_EQ(test.size(), 2);
    EXPECT_EQ(parse_cub(tiny_cub(), "/cub", CubSplit::All).size(), 5);
}

TEST(Cub, FilesThatDisagreeAreErrors) {
    CubTexts t = tiny_cub();
    t.bounding_boxes = "1 60 27 325 304\n2 1 2 3 4\n3 1 2 3 4\n5 1 1 1 1\n";  // image 4 missing
    EXPECT_WSOL_ERROR(parse_cub(t, "/cub", CubSplit::All),
                      "/cub/images.txt:4: 003.Sooty_Albatross/c1.jpg has no line in bounding_boxes.txt");
    t = tiny_cub();
    t.image_class_labels += "6 1\n";
    EXPECT_WSOL_ERROR(parse_cub(t, "/cub", CubSplit::All),
                      "/cub/image_class_labels.txt:6: image id 6 is not in images.txt (the files disagree)");
    t = tiny_cub();
    t.image_class_labels = "1 1\n2 1\n3 4\n4 3\n5 3\n";
    EXPECT_WSOL_ERROR(parse_cub(t, "/cub", CubSplit::All),
                      "/cub/image_class_labels.txt:3: unknown class id 4 (classes.txt has 1..3)");
    t = tiny_cub();
    t.train_test_split = "1 1\n2 2\n3 1\n4 0\n5 1\n";
    EXPECT_WSOL_ERROR(parse_cub(t, "/cub", CubSplit::All), "train_test_split.txt:2: split flag 2");
    t = tiny_cub();
    t.bounding_boxes = "1 60 27 325 304\n2 1 2 3 4\n3 1 2 3 4\n4 1 1 1 1\n5 -3 1 1 1\n";
    EXPECT_WSOL_ERROR(parse_cub(t, "/cub", CubSplit::All), "/cub/images.txt:5: box [-3, 1, -2, 2]");
    ReadOptions skip;
    skip.skip_bad = true;
    const Dataset ds = parse_cub(t, "/cub", CubSplit::All, skip);
    EXPECT_EQ(ds.size(), 4);
    EXPECT_EQ(ds.skipped.size(), 1u);
}

TEST(Cub, ReadsFromDiskAndChecksFiles) {
    ScratchDir dir("cub");
    const CubTexts t = tiny_cub();
    dir.write("images.txt", t.images);
    dir.write("image_class_labels.txt", t.image_class_labels);
    dir.write("train_test_split.txt", t.train_test_split);
    dir.write("bounding_boxes.txt", t.bounding_boxes);
    dir.write("classes.txt", t.classes);
    EXPECT_EQ(read_cub(dir.path(), CubSplit::All).size(), 5);
    ReadOptions check;
    check.check_files = true;
    EXPECT_WSOL_ERROR(read_cub(dir.path(), CubSplit::All, check), "a1.jpg does not exist");
    check.skip_bad = true;
    EXPECT_EQ(read_cub(dir.path(), CubSplit::All, check).skipped.size(), 5u);
    EXPECT_WSOL_ERROR(read_cub(dir / "nowhere", CubSplit::All), "images.txt: missing; read_cub expects the official");
}

TEST(ImageFolder, SortedClassesAndFiles) {
    ScratchDir dir("folder");
    dir.write("n02/b.JPEG", "x");
    dir.write("n02/a.jpeg", "x");
    dir.write("n01/z.jpg", "x");
    dir.write("n01/notes.txt", "x");
    dir.write("n03/c.png", "x");
    const Dataset ds = read_image_folder(dir.path());
    EXPECT_EQ(ds.class_names, (std::vector<std::string>{"n01", "n02", "n03"}));
    ASSERT_EQ(ds.size(), 4);
    EXPECT_EQ(ds.records[0].image_id, "n01/z.jpg");
    EXPECT_EQ(ds.records[1].image_id, "n02/a.jpeg");
    EXPECT_EQ(ds.records[2].image_id, "n02/b.JPEG");
    EXPECT_EQ(ds.records[3].label, 2);
}

// ImageNet's annotation of ILSVRC2012_val_00000001 (its layout; boxes as in wsolevaluation's file).
const char* kValXml = R"(<annotation>
	<folder>val</folder>
	<filename>ILSVRC2012_val_00000001</filename>
	<source><database>ILSVRC_2012</database></source>
	<size><width>500</width><height>375</height><depth>3</depth></size>
	<segmented>0</segmented>
	<object>
		<name>n01751748</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
		<bndbox><xmin>111</xmin><ymin>108</ymin><xmax>441</xmax><ymax>193</ymax></bndbox>
	</object>
	<object>
		<name>n01751748</name>
		<bndbox><xmin>2</xmin><ymin>69</ymin><xmax>500</xmax><ymax>375</ymax></bndbox>
	</object>
	<object>
		<name>n99999999</name>
		<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>
	</object>
</annotation>
)";

TEST(Ilsvrc, ValXml) {
    const ImagenetAnnotation a = parse_imagenet_xml(kValXml, "val1.xml");
    EXPECT_EQ(a.filename, "ILSVRC2012_val_00000001");
    EXPECT_EQ(a.width, 500);
    ASSERT_EQ(a.objects.size(), 3u);
    const std::vector<std::string> wnids = {"n01440764", "n01751748", "n02000000"};
    const Record r = ilsvrc_val_record(a, wnids, "/in/val", false, "val1.xml");
    EXPECT_EQ(r.label, 1);
    EXPECT_EQ(r.path, "/in/val/ILSVRC2012_val_00000001.JPEG");
    ASSERT_EQ(r.boxes.size(), 2u);  // only the GT class's objects
    EXPECT_EQ(r.boxes[0], (Box{111, 108, 441, 193}));
    EXPECT_EQ(r.boxes[1], (Box{2, 69, 499, 374}));  // clipped to the last pixel
    EXPECT_EQ(ilsvrc_val_record(a, wnids, "/in/val", true, "x").path, "/in/val/n01751748/ILSVRC2012_val_00000001.JPEG");
    EXPECT_WSOL_ERROR(ilsvrc_val_record(a, {"n0"}, "", false, "val1.xml"),
                      "val1.xml: unknown class id (wnid) 'n01751748'");
    EXPECT_WSOL_ERROR(parse_imagenet_xml("<annotation><filename>x</filename></annotation>", "bad.xml"),
                      "bad.xml: annotation has no <size> element");
    EXPECT_WSOL_ERROR(
        parse_imagenet_xml(std::string(kValXml).replace(std::string(kValXml).find("111"), 3, "1x1"), "b.xml"),
        "b.xml: xmin: '1x1' is not a finite number");

    ScratchDir dir("ilsvrc");
    dir.write("ann/ILSVRC2012_val_00000001.xml", kValXml);
    dir.write("ann/ILSVRC2012_val_00000002.xml", "<annotation>broken");
    EXPECT_WSOL_ERROR(read_ilsvrc_val(dir / "val", dir / "ann", wnids),
                      "ILSVRC2012_val_00000002.xml: annotation has no");
    ReadOptions skip;
    skip.skip_bad = true;
    const Dataset ds = read_ilsvrc_val(dir / "val", dir / "ann", wnids, skip);
    EXPECT_EQ(ds.size(), 1);
    EXPECT_EQ(ds.skipped.size(), 1u);
}

// First lines of CSFN's Data/CUB_200_2011/test_list.txt (CRLF) and test_bounding_box.txt (LF).
const char* kSatTestList =
    "001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg;0\r\n"
    "001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.jpg;0\r\n";
const char* kSatBoxes = "60.0 27.0 385.0 331.0 335 500\n14.0 112.0 402.0 298.0 347 500\n";

TEST(SeedLists, SatCubTest) {
    const Dataset ds = parse_sat_cub_test(kSatTestList, kSatBoxes, "test_list.txt", "test_bounding_box.txt", "/r/test");
    ASSERT_EQ(ds.size(), 2);
    EXPECT_EQ(ds.records[0].path, "/r/test/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg");
    EXPECT_EQ(ds.records[0].boxes[0], (Box{60, 27, 385, 331}));
    EXPECT_EQ(ds.records[0].height, 335);  // H comes first in this file
    EXPECT_EQ(ds.records[0].width, 500);
    EXPECT_WSOL_ERROR(parse_sat_cub_test(kSatTestList, "60 27 385 331 335 500\n", "test_list.txt", "boxes.txt", ""),
                      "test_list.txt has 2 entries but boxes.txt has 1: the files disagree");
    EXPECT_WSOL_ERROR(parse_sat_cub_test(kSatTestList, "60 27 385 331 335\n1 2 3 4 5 6\n", "l.txt", "b.txt", ""),
                      "b.txt:1: expected <x0> <y0> <x1> <y1> <H> <W>, found 5 fields");
    // A box that starts beyond the image (x0 = 600 in a 500-wide image).
    EXPECT_WSOL_ERROR(parse_sat_cub_test(kSatTestList, "600 27 700 331 335 500\n1 2 3 4 5 6\n", "l.txt", "b.txt", ""),
                      "l.txt:1: (with b.txt:1: ) box [600, 27, 700, 331] lies outside the 500x335 image");
}

// First lines of CSFN's Data/ILSVRC/val_gt.txt: CRLF, two literal backslashes, W then H.
const char* kValGt =
    "n01751748\\\\ILSVRC2012_val_00000001.JPEG 500 375 ; 111 108 441 193\r\n"
    "n09193705\\\\ILSVRC2012_val_00000002.JPEG 500 375 ; 45 49 499 162 2 69 437 207\r\n"
    "n02105855\\\\ILSVRC2012_val_00000003.JPEG 500 375 ; 38 19 385 373\r\n";

TEST(SeedLists, ValGt) {
    const Dataset ds = parse_val_gt(kValGt, "val_gt.txt", "/r/val", {});
    ASSERT_EQ(ds.size(), 3);
    EXPECT_EQ(ds.class_names, (std::vector<std::string>{"n01751748", "n02105855", "n09193705"}));
    EXPECT_EQ(ds.records[1].label, 2);
    EXPECT_EQ(ds.records[1].path, "/r/val/n09193705/ILSVRC2012_val_00000002.JPEG");
    ASSERT_EQ(ds.records[1].boxes.size(), 2u);
    EXPECT_EQ(ds.records[1].boxes[1], (Box{2, 69, 437, 207}));
    EXPECT_EQ(ds.records[2].width, 500);
    EXPECT_EQ(ds.records[2].height, 375);
    EXPECT_WSOL_ERROR(parse_val_gt(kValGt, "val_gt.txt", "", {"n01751748", "n02105855"}),
                      "val_gt.txt:2: unknown class id (wnid) 'n09193705'");
    EXPECT_WSOL_ERROR(parse_val_gt("n01\\\\a.JPEG 500 375 ; 1 2 3\n", "v.txt", "", {}), "v.txt:1: expected <wnid>");
    EXPECT_WSOL_ERROR(parse_val_gt("n01_a.JPEG 500 375 ; 1 2 3 4\n", "v.txt", "", {"n01"}), "is not <wnid>");
}

TEST(SeedLists, PathLabelLists) {
    const Dataset a = parse_path_label_list("images/001.A/x.jpg 0\nimages/002.B/y.jpg 1\n", "cub_bird_train.txt", "/r");
    ASSERT_EQ(a.size(), 2);
    EXPECT_EQ(a.records[1].path, "/r/images/002.B/y.jpg");
    EXPECT_EQ(a.num_classes, 2);
    const Dataset b = parse_path_label_list("n01/a b.JPEG;65\r\n", "val_list.txt", "");
    EXPECT_EQ(b.records[0].image_id, "n01/a b.JPEG");
    EXPECT_EQ(b.records[0].label, 65);
    EXPECT_WSOL_ERROR(parse_path_label_list("x.jpg\n", "l.txt", ""), "l.txt:1: expected '<path> <label>'");
    // A label past 2^31 is no dataset's, and would overflow the class count (largest + 1).
    EXPECT_WSOL_ERROR(parse_path_label_list("x.jpg 9223372036854775807\n", "l.txt", ""),
                      "l.txt:1: label 9223372036854775807 is too large");
    ReadOptions skip;
    skip.skip_bad = true;
    EXPECT_EQ(parse_path_label_list("x.jpg\ny.jpg 3\n", "l.txt", "", skip).size(), 1);
}

TEST(Sampling, SameClassPartnerIsDeterministicAndDifferent) {
    Dataset ds;
    ds.num_classes = 3;
    for (int i = 0; i < 30; ++i) {
        Record r;
        r.label = i < 20 ? i % 2 : 2;  // classes 0 and 1 with 10 images each, class 2 with 10 more
        ds.records.push_back(r);
    }
    ds.records[29].label = 2;
    const SameClassSampler sampler(ds);
    std::vector<int> hits(30);
    for (uint64_t epoch = 0; epoch < 400; ++epoch) {
        const int64_t p = sampler.pick(4, 7, epoch);
        ASSERT_NE(p, 4);
        ASSERT_EQ(ds.records[size_t(p)].label, 0);
        ++hits[size_t(p)];
        EXPECT_EQ(p, sampler.pick(4, 7, epoch));  // a pure function of (seed, epoch, index)
    }
    for (int i = 0; i < 20; i += 2) {
        if (i != 4) {
            EXPECT_GT(hits[size_t(i)], 20) << i;  // ~44 each of 400
        }
    }
    Dataset single;
    single.num_classes = 1;
    single.records.resize(1);
    single.records[0].label = 0;
    EXPECT_EQ(SameClassSampler(single).pick(0, 1, 0), 0);
    // Epoch permutations: a permutation, different per epoch, same for the same (seed, epoch).
    const auto p0 = epoch_permutation(100, 5, 0), p1 = epoch_permutation(100, 5, 1);
    EXPECT_NE(p0, p1);
    EXPECT_EQ(p0, epoch_permutation(100, 5, 0));
    std::vector<int64_t> sorted = p0;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[size_t(i)], i);
}

}  // namespace
}  // namespace wsol::data
