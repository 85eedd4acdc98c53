// Does the whole stack learn? The demo's recipe end to end (tools/demo.sh): a wsol-synth dataset,
// a small ViT classifier pre-trained on its ILSVRC layout (preset vit-synth), SAT fine-tuned from it
// on the CUB layout (preset sat-synth), evaluated on the held-out test split with both protocols.
//
// The oracle is the data: wsol-synth knows every object's exact box, and its backgrounds and
// distractors carry no class information, so a high localisation accuracy can only come from maps
// that find the object. The bar is set against the best box that ignores the image (a centred box
// of the best size for this test split, chosen with the answers), which any working method must beat
// by a wide margin.
//
// About two minutes of training on two cores: labelled `slow` (the sanitizer pass skips it).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/synth.h"
#include "eval/box.h"
#include "support/testing.h"  // IWYU pragma: keep
#include "train/trainer.h"

namespace wsol {
namespace {

namespace fs = std::filesystem;

// The fraction of test images whose GT box has IoU >= 0.5 with a centred box covering `area` of the
// image, maximised over `area`: what localisation achieves knowing nothing but the data's statistics.
double centred_box_baseline(const data::Dataset& test) {
    double best = 0.0;
    for (int step = 1; step <= 20; ++step) {
        const double side = std::sqrt(0.05 * step);  // box side as a fraction of the image side
        int64_t hits = 0;
        for (const data::Record& r : test.records) {
            const int w = int(std::lround(side * r.width)), h = int(std::lround(side * r.height));
            const eval::Box box{(r.width - w) / 2, (r.height - h) / 2, (r.width - w) / 2 + w - 1, (r.height - h) / 2 + h - 1};
            double iou = 0.0;
            for (const data::Box& g : r.boxes) {
                const eval::Box gt{int(g.x0), int(g.y0), int(g.x1), int(g.y1)};
                iou = std::max(iou, eval::box_iou(box, gt));
            }
            hits += iou >= 0.5;
        }
        best = std::max(best, 100.0 * double(hits) / double(test.size()));
    }
    return best;
}

TEST(Learning, SatFindsTheSyntheticObjects) {
    const std::string root = ::testing::TempDir() + "/wsol_learning";
    fs::remove_all(root);
    // The demo's dataset (tools/demo.sh): 6 classes, 250 training images each per layout, objects
    // covering 15-60% of the image on textured backgrounds, without distractor shapes (with up to
    // two, the maps of this tiny model latch onto them and GT-known Loc drops to ~80%).
    data::SynthOptions o;
    o.out_dir = root + "/data";
    o.num_classes = 6;
    o.train_per_class = 250;
    o.val_per_class = 10;
    o.test_per_class = 30;
    o.min_side = 96;
    o.max_side = 128;
    o.min_area = 0.15;
    o.min_distractors = 0;
    o.max_distractors = 0;
    o.threads = 2;
    data::write_synth_dataset(o, {});

    // The presets' seeds; WSOL_LEARNING_SEED=N trains both stages with seed N instead, to see how
    // the figures spread over seeds (how the bars below were checked for margin).
    const char* seed_override = std::getenv("WSOL_LEARNING_SEED");
    train::TrainConfig pre = train::preset("vit-synth");
    if (seed_override) pre.seed = std::stoull(seed_override);
    pre.data = o.out_dir + "/ILSVRC";
    pre.out = root + "/pretrain";
    pre.final_test = false;
    pre.progress = false;
    train::Trainer(pre).run();

    train::TrainConfig sat = train::preset("sat-synth");
    sat.data = o.out_dir;
    sat.init = pre.out + "/checkpoints/last.safetensors";
    sat.out = root + "/sat";
    sat.progress = false;
    if (seed_override) sat.seed = std::stoull(seed_override) + 1;
    train::Trainer trainer(sat);
    const train::TrainResult r = trainer.run();
    ASSERT_TRUE(r.test.has_value());
    // GT-known Loc both as the legacy protocol defines it (SAT's fixed thresholds 0.3-0.45 of the
    // map's range) and as wsolevaluation does (MaxBoxAcc: IoU >= 0.5 at the best map threshold).
    // Measured with this recipe: 98.3-98.9 (both) and MaxBoxAccV2 95-96 over three seeds of both
    // stages (WSOL_LEARNING_SEED), so the bars leave ~8 points for other CPUs' rounding.
    const double gt_known = r.test->metric("gt_known_loc"), maxboxacc = r.test->metric("maxboxacc");
    const double maxboxacc_v2 = r.test->metric("maxboxacc_v2"), top1_cls = r.test->metric("top1_cls");
    const double baseline = centred_box_baseline(*trainer.splits().test);
    std::printf("test split: Top-1 Cls %.2f  Top-1 Loc %.2f  GT-known Loc %.2f  MaxBoxAcc %.2f  MaxBoxAccV2 %.2f; "
                "best centred box %.2f\n",
                top1_cls, r.test->metric("top1_loc"), gt_known, maxboxacc, maxboxacc_v2, baseline);
    EXPECT_GE(top1_cls, 95.0);
    EXPECT_GE(gt_known, 90.0);
    EXPECT_GE(maxboxacc, 90.0);
    EXPECT_GE(maxboxacc_v2, 85.0);
    EXPECT_GE(gt_known, baseline + 20.0);
    if (!HasFailure()) fs::remove_all(root);  // otherwise the runs (logs, report, overlays) stay for a look
}

}  // namespace
}  // namespace wsol
