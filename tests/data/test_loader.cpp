// The threaded loader: thread-count independence, resume, sharding, bad input, shutdown.
#include <chrono>
#include <set>

#include "data/decode.h"
#include "data/loader.h"
#include "data/sampling.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

// A dataset of `n` real JPEG files of assorted sizes, 3 classes, one box each.
struct TinyJpegs {
    ScratchDir dir{"loader"};
    std::shared_ptr<Dataset> ds = std::make_shared<Dataset>();

    explicit TinyJpegs(int n) {
        ds->name = "tiny";
        ds->num_classes = 3;
        for (int i = 0; i < n; ++i) {
            const int w = 60 + 7 * (i % 5), h = 40 + 11 * (i % 3);
            Record r;
            r.image_id = "img" + std::to_string(i) + ".jpg";
            r.path = dir.write(r.image_id, encode_jpeg(test_picture(w, h, i), 90));
            r.label = i % 3;
            r.width = w;
            r.height = h;
            r.boxes = {Box{double(i % 7), 3, double(w - 5), double(h - 2)}};
            ds->records.push_back(r);
        }
    }
};

LoaderOptions small_options(int workers) {
    LoaderOptions o;
    o.batch_size = 4;
    o.shuffle = true;
    o.seed = 42;
    o.num_workers = workers;
    o.transform = TransformSpec::train(48, 40);
    return o;
}

std::vector<Batch> whole_epoch(DataLoader& loader, int64_t epoch, int64_t first = 0) {
    loader.start_epoch(epoch, first);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
}

void expect_same(const Batch& a, const Batch& b) {
    EXPECT_EQ(a.index, b.index);
    EXPECT_EQ(a.indices, b.indices);
    EXPECT_EQ(a.image_ids, b.image_ids);
    EXPECT_EQ(a.boxes, b.boxes);
    EXPECT_EQ(a.labels.to_vector<int64_t>(), b.labels.to_vector<int64_t>());
    EXPECT_TRUE(bitwise_equal(a.images, b.images));
}

TEST(Loader, BatchesDoNotDependOnThreadCount) {
    TinyJpegs data(23);
    DataLoader inline_loader(data.ds, small_options(0));
    const std::vector<Batch> reference = whole_epoch(inline_loader, 3);
    ASSERT_EQ(reference.size(), 6u);  // 23 / 4 -> 5 full + 1 of 3
    EXPECT_EQ(reference.back().size(), 3);
    EXPECT_EQ(reference[0].images.shape(), (Shape{4, 3, 40, 40}));
    for (int workers : {1, 3, 8}) {
        DataLoader loader(data.ds, small_options(workers));
        const std::vector<Batch> got = whole_epoch(loader, 3);
        ASSERT_EQ(got.size(), reference.size());
        for (size_t k = 0; k < got.size(); ++k) expect_same(got[k], reference[k]);
    }
}

TEST(Loader, ResumesAtAnyBatchBitIdentically) {
    TinyJpegs data(17);
    DataLoader loader(data.ds, small_options(2));
    const std::vector<Batch> full = whole_epoch(loader, 1);
    const std::vector<Batch> tail = whole_epoch(loader, 1, 3);
    ASSERT_EQ(tail.size(), full.size() - 3);
    for (size_t k = 0; k < tail.size(); ++k) expect_same(tail[k], full[k + 3]);
    // Another epoch: another order and other crops.
    const std::vector<Batch> other = whole_epoch(loader, 2);
    EXPECT_NE(other[0].indices, full[0].indices);
    EXPECT_WSOL_ERROR(loader.start_epoch(1, 99), "first batch 99 outside 0..5");
}

TEST(Loader, EpochPlanShardsAndDropLast) {
    LoaderOptions o;
    o.batch_size = 3;
    o.shuffle = true;
    o.seed = 9;
    std::set<int64_t> seen;
    size_t total = 0;
    for (int rank = 0; rank < 3; ++rank) {
        o.rank = rank;
        o.world_size = 3;
        for (const auto& b : epoch_batches(10, o, 0)) {
            total += b.size();
            seen.insert(b.begin(), b.end());
        }
    }
    EXPECT_EQ(total, 12u);  // 10 padded to 12, 4 per rank
    EXPECT_EQ(seen.size(), 10u);
    o.rank = 0;
    o.world_size = 1;
    o.drop_last = true;
    EXPECT_EQ(epoch_batches(10, o, 0).size(), 3u);
    o.drop_last = false;
    const auto plain = epoch_batches(10, o, 0);
    EXPECT_EQ(plain.size(), 4u);
    EXPECT_EQ(plain.back().size(), 1u);
    o.shuffle = false;
    EXPECT_EQ(epoch_batches(10, o, 5)[0], (std::vector<int64_t>{0, 1, 2}));
    o.rank = 2;
    EXPECT_WSOL_ERROR(epoch_batches(10, o, 0), "rank 2 is not in 0..0");
}

TEST(Loader, MatchesTheSingleImagePipeline) {
    TinyJpegs data(5);
    LoaderOptions o = small_options(2);
    o.shuffle = false;
    o.transform = TransformSpec::center_crop(48, 40);
    DataLoader loader(data.ds, o);
    loader.start_epoch(0);
    const Batch b = *loader.next();
    const Record& r = data.ds->records[1];
    const std::vector<View> views =
        apply_transform(load_image(r.path), r.boxes, o.transform, draw_augmentation(o.transform, {}));
    Tensor expected = Tensor::empty({1, 3, 40, 40}, kFloat32);
    Normalizer().write(views[0].image, false, expected.data<float>());
    EXPECT_TRUE(bitwise_equal(narrow(b.images, 0, 1, 1), expected));
    EXPECT_EQ(b.boxes[1], views[0].boxes);
    EXPECT_EQ(b.boxes_original[1], r.boxes);
    EXPECT_EQ(b.widths[1], r.width);
    EXPECT_EQ(b.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0}));
}

TEST(Loader, Uint8TenCropAndAuxiliaryImages) {
    TinyJpegs data(9);
    LoaderOptions o = small_options(2);
    o.pixels = PixelFormat::UInt8;
    o.transform = TransformSpec::ten_crop(48, 40);
    o.auxiliary_same_class = true;
    DataLoader loader(data.ds, o);
    loader.start_epoch(0);
    const Batch b = *loader.next();
    EXPECT_EQ(b.images.dtype(), kUInt8);
    EXPECT_EQ(b.images.shape(), (Shape{4, 10, 3, 40, 40}));
    EXPECT_EQ(b.boxes.size(), 40u);
    EXPECT_EQ(b.aux_images.shape(), b.images.shape());
    for (int64_t k = 0; k < b.size(); ++k) {
        const int64_t partner = b.aux_indices[size_t(k)];
        EXPECT_NE(partner, b.indices[size_t(k)]);
        EXPECT_EQ(data.ds->records[size_t(partner)].label, data.ds->records[size_t(b.indices[size_t(k)])].label);
    }
}

TEST(Loader, BadImageReachesTheConsumerAtItsBatch) {
    TinyJpegs data(12);
    write_file_atomic(data.ds->records[6].path, "");  // zero bytes
    LoaderOptions o = small_options(3);
    o.shuffle = false;
    o.prefetch_batches = 3;
    for (int workers : {0, 3}) {
        o.num_workers = workers;
        DataLoader loader(data.ds, o);
        loader.start_epoch(0);
        ASSERT_TRUE(loader.next().has_value());  // batch 0 (images 0..3) is fine
        EXPECT_WSOL_ERROR(loader.next(), "img6.jpg: empty file (0 bytes)");
        EXPECT_WSOL_ERROR(loader.next(), "batch 1, sample 2 (dataset index 6)");  // stays failed
    }
}

TEST(Loader, SkipBadImagesShortensTheBatch) {
    TinyJpegs data(12);
    std::filesystem::remove(data.ds->records[5].path);  // missing
    const std::string jpeg = read_file(data.ds->records[9].path);
    write_file_atomic(data.ds->records[9].path, jpeg.substr(0, jpeg.size() / 2));  // truncated
    data.ds->records[2].width += 1;                                                // the list disagrees with the image
    LoaderOptions o = small_options(2);
    o.shuffle = false;
    o.skip_bad_images = true;
    DataLoader loader(data.ds, o);
    const std::vector<Batch> batches = whole_epoch(loader, 0);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].size(), 3);
    EXPECT_EQ(batches[0].indices, (std::vector<int64_t>{0, 1, 3}));
    EXPECT_EQ(batches[0].images.shape(), (Shape{3, 3, 40, 40}));
    EXPECT_EQ(batches[0].labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
    EXPECT_EQ(batches[1].indices, (std::vector<int64_t>{4, 6, 7}));
    EXPECT_EQ(batches[2].indices, (std::vector<int64_t>{8, 10, 11}));
    ASSERT_EQ(loader.skipped().size(), 3u);
    EXPECT_NE(loader.skipped()[0].reason.find("list file says"), std::string::npos);
    EXPECT_NE(loader.skipped()[1].reason.find("img5.jpg: image file does not exist"), std::string::npos);
    EXPECT_NE(loader.skipped()[2].reason.find("truncated"), std::string::npos);
    // The surviving samples are the ones an unbroken run produces.
    TinyJpegs clean(12);
    LoaderOptions co = o;
    co.skip_bad_images = false;
    DataLoader reference(clean.ds, co);
    const std::vector<Batch> ref = whole_epoch(reference, 0);
    EXPECT_TRUE(bitwise_equal(narrow(batches[0].images, 0, 2, 1), narrow(ref[0].images, 0, 3, 1)));
}

TEST(Loader, StoppingEarlyDoesNotHang) {
    TinyJpegs data(40);
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 5; ++round) {
        DataLoader loader(data.ds, small_options(4));
        loader.start_epoch(0);
        ASSERT_TRUE(loader.next().has_value());
        loader.start_epoch(1, 2);  // abandon epoch 0 mid-way
        ASSERT_TRUE(loader.next().has_value());
    }  // destroyed with workers blocked on a full queue
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(Loader, BadOptionsAreErrors) {
    TinyJpegs data(2);
    LoaderOptions o = small_options(1);
    o.batch_size = 0;
    EXPECT_WSOL_ERROR(DataLoader(data.ds, o), "batch_size 0 must be positive");
    o = small_options(1);
    o.transform = TransformSpec::center_crop(32, 40);
    EXPECT_WSOL_ERROR(DataLoader(data.ds, o), "crop 40 must be in 1..32");
    DataLoader loader(data.ds, small_options(1));
    EXPECT_WSOL_ERROR(loader.next(), "call start_epoch first");
    data.ds->records[1].label = -1;
    EXPECT_WSOL_ERROR(DataLoader(data.ds, small_options(1)), "record 1 (img1.jpg) of tiny has no label");
}

}  // namespace
}  // namespace wsol::data
