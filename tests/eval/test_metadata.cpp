// wsolevaluation metadata parsing: the real files (counts from evaluation.md B1) and every error.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "eval/metadata.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

// The shared data folder: beside the main checkout, or two levels up from a worktree.
std::string shared_metadata(const std::string& rel) {
    std::vector<std::string> roots = {WSOL_SHARED_DIR, std::string(WSOL_SOURCE_DIR) + "/../../shared"};
    if (const char* env = std::getenv("WSOL_SHARED_DIR")) roots.insert(roots.begin(), env);
    for (const std::string& root : roots) {
        const std::string path = root + "/data/wsolevaluation/" + rel;
        if (std::filesystem::exists(path + "/image_ids.txt")) return path;
    }
    return "";
}

class TempDir {
public:
    TempDir() {
        path_ = ::testing::TempDir() + "/wsol_meta_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path_ + "/" + name) << text; }

private:
    static inline int counter_ = 0;
    std::string path_;
};

TEST(Metadata, RealCubVal) {
    const std::string dir = shared_metadata("CUB/val");
    if (dir.empty()) GTEST_SKIP() << "shared wsolevaluation metadata not found";
    const WsolMetadata m = load_wsol_metadata(dir);
    ASSERT_EQ(m.size(), 1000u);
    EXPECT_EQ(m.labels.size(), 1000u);
    EXPECT_EQ(m.image_ids[0], "001.Black_footed_Albatross/30107316117.jpg");
    ASSERT_EQ(m.boxes[0].size(), 1u);
    EXPECT_EQ(m.boxes[0][0], (Box{176, 136, 459, 291}));  // the first line, evaluation.md B1
    EXPECT_FALSE(m.has_masks());
}

TEST(Metadata, RealIlsvrcValHasManyBoxesPerImage) {
    const std::string dir = shared_metadata("ILSVRC/val");
    if (dir.empty()) GTEST_SKIP() << "shared wsolevaluation metadata not found";
    const WsolMetadata m = load_wsol_metadata(dir);
    ASSERT_EQ(m.size(), 10000u);
    size_t boxes = 0, most = 0;
    std::string most_id;
    for (size_t i = 0; i < m.size(); ++i) {
        boxes += m.boxes[i].size();
        if (m.boxes[i].size() > most) {
            most = m.boxes[i].size();
            most_id = m.image_ids[i];
        }
    }
    EXPECT_EQ(boxes, 18532u);
    EXPECT_EQ(most, 259u);
    EXPECT_EQ(most_id, "val2/971/1.jpeg");
}

TEST(Metadata, BoxesAndMasks) {
    TempDir d;
    d.write("image_ids.txt", "a/x.jpg\nb/y.png\n");
    d.write("class_labels.txt", "b/y.png,3\na/x.jpg,0");
    d.write("image_sizes.txt", "a/x.jpg,10,20\nb/y.png,5,5");
    d.write("localization.txt", "a/x.jpg,0,0,9,19\nb/y.png,1,1,2,2\na/x.jpg,2,3,4,5");
    const WsolMetadata m = load_wsol_metadata(d.path());
    EXPECT_EQ(m.labels, (std::vector<int>{0, 3}));
    EXPECT_EQ(m.sizes[0].width, 10);
    EXPECT_EQ(m.sizes[0].height, 20);
    ASSERT_EQ(m.boxes[0].size(), 2u);
    EXPECT_EQ(m.boxes[0][1], (Box{2, 3, 4, 5}));

    TempDir k;
    k.write("image_ids.txt", "a.jpg\nb.jpg");
    k.write("image_sizes.txt", "");
    k.write("localization.txt", "a.jpg,a_m0.png,a_ign.png\nb.jpg,b_m0.png,b_ign.png\na.jpg,a_m1.png,");
    const WsolMetadata masks = load_wsol_metadata(k.path());
    EXPECT_TRUE(masks.has_masks());
    EXPECT_EQ(masks.mask_paths[0], (std::vector<std::string>{"a_m0.png", "a_m1.png"}));
    EXPECT_EQ(masks.ignore_paths[1], "b_ign.png");
    EXPECT_TRUE(masks.labels.empty());  // no class_labels.txt: not needed to evaluate
    EXPECT_TRUE(masks.sizes.empty());

    // Windows line ends and blank lines read as the data layer reads them (one reader for both); a
    // box may end past the border (CUB's official boxes do), but not start outside the image.
    TempDir w;
    w.write("image_ids.txt", "a.jpg\r\n\r\nb.jpg\r\n");
    w.write("class_labels.txt", "a.jpg,0\r\nb.jpg,1\r\n");
    w.write("image_sizes.txt", "a.jpg,10,10\r\nb.jpg,10,10");
    w.write("localization.txt", "a.jpg,0,0,9,9\r\nb.jpg,2,2,12,9\r\n");
    const WsolMetadata crlf = load_wsol_metadata(w.path());
    ASSERT_EQ(crlf.size(), 2u);
    EXPECT_EQ(crlf.image_ids[1], "b.jpg");
    EXPECT_EQ(crlf.boxes[1][0], (Box{2, 2, 12, 9}));
}

TEST(Metadata, StripExtension) {
    EXPECT_EQ(strip_extension("val/ILSVRC2012_val_00000001.JPEG"), "val/ILSVRC2012_val_00000001");
    EXPECT_EQ(strip_extension("a.b/c"), "a.b/c");
    EXPECT_EQ(strip_extension("dir/.hidden"), "dir/.hidden");
    EXPECT_EQ(strip_extension("x.tar.gz"), "x.tar");
}

TEST(Metadata, Errors) {
    auto expect_error = [](const std::vector<std::pair<std::string, std::string>>& files, const std::string& fragment) {
        TempDir d;
        for (const auto& [name, text] : files) d.write(name, text);
        EXPECT_WSOL_ERROR(load_wsol_metadata(d.path()), fragment);
    };
    const std::pair<std::string, std::string> ids = {"image_ids.txt", "a.jpg\nb.jpg"};
    const std::pair<std::string, std::string> labels = {"class_labels.txt", "a.jpg,1\nb.jpg,2"};
    const std::pair<std::string, std::string> sizes = {"image_sizes.txt", "a.jpg,10,10\nb.jpg,10,10"};
    const std::pair<std::string, std::string> loc = {"localization.txt", "a.jpg,0,0,1,1\nb.jpg,0,0,1,1"};
    expect_error({labels, sizes, loc}, "image_ids.txt: missing");
    expect_error({ids, labels, sizes}, "localization.txt: missing");
    expect_error({{"image_ids.txt", "a.jpg\na.jpg"}, labels, sizes, loc}, "image_ids.txt:2: image id a.jpg is listed twice");
    expect_error({{"image_ids.txt", ""}, {"class_labels.txt", ""}, {"localization.txt", ""}}, "image_ids.txt: no image ids");
    expect_error({ids, {"class_labels.txt", "a.jpg,1\nc.jpg,2"}, sizes, loc},
                 "class_labels.txt:2: image id 'c.jpg' is not in image_ids.txt");
    expect_error({ids, {"class_labels.txt", "a.jpg,1\na.jpg,2"}, sizes, loc},
                 "class_labels.txt:2: second label for a.jpg (first at line 1)");
    expect_error({ids, {"class_labels.txt", "a.jpg,1"}, sizes, loc}, "b.jpg has no line in class_labels.txt");
    expect_error({ids, {"class_labels.txt", "a.jpg,1\nb.jpg,x"}, sizes, loc}, "class_labels.txt:2: class label");
    expect_error({ids, {"class_labels.txt", "a.jpg,1\nb.jpg,-4"}, sizes, loc}, "unknown class id -4");
    expect_error({ids, labels, {"image_sizes.txt", "a.jpg,10\nb.jpg,10,10"}, loc}, "image_sizes.txt:1: expected");
    expect_error({ids, labels, {"image_sizes.txt", "a.jpg,0,10\nb.jpg,10,10"}, loc}, "image size 0x10 of a.jpg");
    expect_error({ids, labels, {"image_sizes.txt", "a.jpg,10,10"}, loc}, "1 of the 2 images have no size (e.g. 'b.jpg')");
    expect_error({ids, labels, loc}, "image_sizes.txt: missing or empty, but box metadata needs the image sizes");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,0,0,1,1"}}, "localization.txt: no box for image 'b.jpg'");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,0,0,1,1\nb.jpg,10,0,12,1"}},
                 "box [10, 0, 12, 1] lies outside the 10x10 image b.jpg");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,3,0,1,1\nb.jpg,0,0,1,1"}}, "has its end before its start");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,0,0,1,1\nb.jpg,0,0,1"}}, "localization.txt:2: expected");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,0,0,1,1.5\nb.jpg,0,0,1,1"}}, "localization.txt:1: y1");
    expect_error({ids, labels, {"localization.txt", "a.jpg,m.png,\nb.jpg,n.png,i.png"}},
                 "the first mask line of 'a.jpg' must name its ignore mask");
    expect_error({ids, labels, {"localization.txt", "a.jpg,m.png,i.png\nb.jpg,n.png,i.png\na.jpg,k.png,j.png"}},
                 "ignore mask given again for a.jpg");
    expect_error({ids, labels, {"localization.txt", "a.jpg,m.png,i.png"}}, "no mask for image 'b.jpg'");
    expect_error({ids, labels, sizes, {"localization.txt", "a.jpg,m.png,i.png\nb.jpg,0,0,1,1"}}, "both boxes and masks");
}

}  // namespace
}  // namespace wsol::eval
