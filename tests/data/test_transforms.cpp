// Transforms and box rescaling against torchvision and the seeds' Python formulas
// (fixtures from tools/reference/data_images.py).
#include "data/boxes.h"
#include "data/decode.h"
#include "data/sampling.h"
#include "data/transforms.h"
#include "data_test_util.h"

namespace wsol::data {
namespace {

using testing::fixture_path;

const TensorFile& pipeline_fixtures() {
    static const TensorFile file = load_safetensors(fixture_path("data/pipeline.safetensors"));
    return file;
}

DecodedImage pipeline_image() {
    return load_image(fixture_path("data/images/pipeline.jpg"));
}

// Runs a transform and writes every view as normalised CHW float32, stacked: (views, 3, h, w).
Tensor normalised_views(const DecodedImage& img, const TransformSpec& spec, const Augmentation& a) {
    const std::vector<View> views = apply_transform(img, {}, spec, a);
    const int64_t h = spec.out_height(), w = spec.out_width();
    Tensor out = Tensor::empty({int64_t(views.size()), 3, h, w}, kFloat32);
    const Normalizer norm;
    for (size_t k = 0; k < views.size(); ++k)
        norm.write(views[k].image, views[k].flip, out.data<float>() + k * 3 * h * w);
    return out;
}

// Bit-exact float32 equality with torchvision (tolerance 0).
TEST(Transforms, CenterCropMatchesTorchvision) {
    const TransformSpec spec = TransformSpec::center_crop(64, 56);
    const Tensor got = normalised_views(pipeline_image(), spec, draw_augmentation(spec, {}));
    EXPECT_TRUE(bitwise_equal(got, reshape(pipeline_fixtures().at("sat_eval_64_56"), {1, 3, 56, 56})));
}

TEST(Transforms, DirectResizeMatchesTorchvision) {
    TransformSpec spec = TransformSpec::resize(48);
    spec.resize_height = 40;
    const Tensor got = normalised_views(pipeline_image(), spec, {});
    EXPECT_TRUE(bitwise_equal(got, reshape(pipeline_fixtures().at("wsoleval_48x40"), {1, 3, 40, 48})));
}

TEST(Transforms, TenCropMatchesTorchvision) {
    const TransformSpec spec = TransformSpec::ten_crop(40, 24);
    const Tensor got = normalised_views(pipeline_image(), spec, {});
    EXPECT_TRUE(bitwise_equal(got, pipeline_fixtures().at("tencrop_40_24")));
}

TEST(Transforms, RandomCropAndFlipMatchTorchvisionAtFixedOffsets) {
    const TransformSpec spec = TransformSpec::train(64, 56);
    Augmentation a;
    a.crop_x = 3;  // torchvision's crop(img, top=5, left=3, ...)
    a.crop_y = 5;
    a.flip = true;
    const Tensor got = normalised_views(pipeline_image(), spec, a);
    EXPECT_TRUE(bitwise_equal(got, reshape(pipeline_fixtures().at("train_crop_5_3_flip"), {1, 3, 56, 56})));
    a.flip = false;
    const std::vector<View> views = apply_transform(pipeline_image(), {}, spec, a);
    EXPECT_EQ(max_abs_diff(views[0].image, image_from_tensor(pipeline_fixtures().at("train_crop_5_3_noflip_uint8"))),
              0);
    // uint8 CHW output carries the same bytes, planar.
    std::vector<uint8_t> chw(3 * 56 * 56);
    write_chw_uint8(views[0].image, false, chw.data());
    EXPECT_EQ(chw[56 * 56 + 2 * 56 + 7], views[0].image.row(2)[3 * 7 + 1]);
}

TEST(Boxes, MatchTheSeedsPythonFormulas) {
    const TensorFile file = load_safetensors(fixture_path("data/boxes.safetensors"));
    const std::vector<int64_t> sizes = file.at("sizes").to_vector<int64_t>();
    const std::vector<double> boxes = file.at("boxes").to_vector<double>();
    const std::vector<double> sat = file.at("sat_224").to_vector<double>();
    const std::vector<double> wsol = file.at("wsoleval_224").to_vector<double>();
    const size_t n = sizes.size() / 2;
    ASSERT_EQ(n, 200u);
    for (size_t i = 0; i < n; ++i) {
        const Box b{boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]};
        const int w = int(sizes[2 * i]), h = int(sizes[2 * i + 1]);
        const Box s = sat_eval_box(b, w, h);
        EXPECT_EQ(s, (Box{sat[4 * i], sat[4 * i + 1], sat[4 * i + 2], sat[4 * i + 3]})) << "case " << i;
        const Box e = wsoleval_box(b, w, h);
        EXPECT_EQ(e, (Box{wsol[4 * i], wsol[4 * i + 1], wsol[4 * i + 2], wsol[4 * i + 3]})) << "case " << i;
        // The centre-crop transform gives the SAT evaluator's boxes, the direct resize wsolevaluation's.
        const TransformSpec cc = TransformSpec::center_crop();
        EXPECT_EQ(transform_boxes({b}, w, h, cc, draw_augmentation(cc, {}))[0], s);
        EXPECT_EQ(transform_boxes({b}, w, h, TransformSpec::resize(), {})[0], e);
    }
}

TEST(Boxes, WorkedExamples) {
    // Worked by hand: a 500x375 image, box (100, 50, 400, 300).
    // SAT: 100*256/500 - 16 = 35.2 -> 35; 50*256/375 - 16 = 18.13 -> 18;
    //      400*256/500 - 16 = 188.8 -> 188; 300*256/375 - 16 = 188.8 -> 188.
    EXPECT_EQ(sat_eval_box({100, 50, 400, 300}, 500, 375), (Box{35, 18, 188, 188}));
    // wsolevaluation: 100*224/500 = 44.8 -> 44; 50*224/375 = 29.87 -> 29; 179.2 -> 179; 179.2 -> 179.
    EXPECT_EQ(wsoleval_box({100, 50, 400, 300}, 500, 375), (Box{44, 29, 179, 179}));
    // Flip within a 224 crop maps inclusive columns c -> 223 - c.
    EXPECT_EQ(crop_box({100, 50, 400, 300}, 500, 375, 256, 256, 16, 16, 224, 224, true), (Box{35, 18, 188, 188}));
    // (0, 0, 100, 100): x1 = 100*256/500 - 16 = 35.2 -> 35, y1 = 100*256/375 - 16 = 52.3 -> 52; mirrored
    // x: [223 - 35, 223 - 0] = [188, 223].
    EXPECT_EQ(crop_box({0, 0, 100, 100}, 500, 375, 256, 256, 16, 16, 224, 224, true), (Box{188, 0, 223, 52}));
    // A box inside the cropped-away margin comes out inverted, as in SAT's evaluator.
    const Box margin = sat_eval_box({0, 0, 20, 20}, 500, 500);
    EXPECT_LT(margin.x1, margin.x0);
}

TEST(Boxes, FlippedViewBoxesMirrorThePixels) {
    // Draw a white rectangle, transform with flip, and check the box still frames the white pixels.
    Image img(300, 200);
    const Box box{60, 40, 149, 119};  // inclusive pixel box of the rectangle
    for (int y = 40; y <= 119; ++y)
        for (int x = 60; x <= 149; ++x) std::fill_n(img.row(y) + 3 * x, 3, 255);
    DecodedImage d;
    d.image = img;
    d.source_width = 300;
    d.source_height = 200;
    const TransformSpec spec = TransformSpec::train(300, 200);  // no resize: pixels move exactly
    Augmentation a;
    a.crop_x = 50;
    a.crop_y = 10;
    a.flip = true;
    const View v = apply_transform(d, {box}, TransformSpec{spec.kind, 300, 200, 180, 0.5, false}, a)[0];
    const Image shown = flip_horizontal(v.image);
    const Box& b = v.boxes[0];
    for (int y = 0; y < 180; ++y) {
        for (int x = 0; x < 180; ++x) {
            const bool inside = x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1;
            ASSERT_EQ(shown.row(y)[3 * x] == 255, inside) << x << "," << y;
        }
    }
}

TEST(Transforms, AugmentationIsUniformAndDeterministic) {
    const TransformSpec spec = TransformSpec::train();
    std::vector<int> seen_x(33), seen_y(33);
    int flips = 0;
    const int n = 33000;
    for (int i = 0; i < n; ++i) {
        const Augmentation a = draw_augmentation(spec, sample_random(6, 0, uint64_t(i), RandomStream::Augment));
        ASSERT_GE(a.crop_x, 0);
        ASSERT_LE(a.crop_x, 32);
        ++seen_x[size_t(a.crop_x)];
        ++seen_y[size_t(a.crop_y)];
        flips += a.flip;
    }
    for (int k = 0; k <= 32; ++k) {
        EXPECT_NEAR(seen_x[size_t(k)], 1000, 150) << k;  // ~5 sigma of a binomial(33000, 1/33)
        EXPECT_NEAR(seen_y[size_t(k)], 1000, 150) << k;
    }
    EXPECT_NEAR(flips, n / 2, 500);
    const Augmentation a1 = draw_augmentation(spec, sample_random(6, 3, 17, RandomStream::Augment));
    const Augmentation a2 = draw_augmentation(spec, sample_random(6, 3, 17, RandomStream::Augment));
    EXPECT_EQ(a1.crop_x, a2.crop_x);
    EXPECT_EQ(a1.crop_y, a2.crop_y);
    EXPECT_EQ(a1.flip, a2.flip);
}

TEST(Transforms, BadSpecsAreErrors) {
    EXPECT_WSOL_ERROR(TransformSpec::center_crop(200, 224).validate(), "crop 224 must be in 1..200");
    TransformSpec s = TransformSpec::train();
    s.flip_probability = 1.5;
    EXPECT_WSOL_ERROR(s.validate(), "flip probability 1.5");
    Augmentation a;
    a.crop_x = 40;
    EXPECT_WSOL_ERROR(apply_transform(pipeline_image(), {}, TransformSpec::train(), a), "leaves the 256x256 image");
}

}  // namespace
}  // namespace wsol::data
