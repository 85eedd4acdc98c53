// Parity with the public wsolevaluation code, in every build: eight 224x224 maps (noisy, rings,
// few-level blocks, smooth CAMs, max level 127, all zero), their metadata, and the counts that
// wsolevaluation's BoxEvaluator gave for them (tools/reference/eval_parity_fixture.py, OpenCV 5.0,
// numpy 2.4). Every BoxAcc numerator at every CAM threshold, both contour modes, every IoU
// threshold, and the reported floats must be identical.
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/file_util.h"
#include "engine/npy.h"
#include "eval/scoremap_eval.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

TEST(WsolevaluationParity, EveryCountMatchesTheFixture) {
    const std::string dir = testing::fixture_path("eval/parity");
    const Tensor levels = load_npy(dir + "/levels.npy");  // (8, 224, 224) uint8
    ASSERT_EQ(levels.shape(), (Shape{8, 224, 224}));
    const nlohmann::json expected = nlohmann::json::parse(read_file(dir + "/wsolevaluation_counts.json"));
    const WsolMetadata meta = load_wsol_metadata(dir + "/metadata");
    ASSERT_EQ(meta.size(), 8u);

    // The maps both sides evaluated: min((q + 0.5) / 255, 1), which quantise back to q.
    const std::string maps = ::testing::TempDir() + "/wsol_parity_" + std::to_string(::getpid());
    const std::vector<uint8_t> q = levels.to_vector<uint8_t>();
    for (size_t i = 0; i < meta.size(); ++i) {
        std::vector<double> v(224 * 224);
        for (size_t k = 0; k < v.size(); ++k) v[k] = std::min((q[i * v.size() + k] + 0.5) / 255.0, 1.0);
        const std::string path = maps + "/" + strip_extension(meta.image_ids[i]) + ".npy";
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        save_npy(path, Tensor::from_vector<double>(v, {224, 224}));
    }
    for (const auto& [interval, ref] : expected.items()) {
        SCOPED_TRACE("cam curve interval " + interval);
        ScoreMapEvalOptions o;
        o.metadata_dir = dir + "/metadata";
        o.scoremap_dir = maps;
        o.cam_curve_interval = std::stod(interval);
        const ScoreMapEvalResult r = evaluate_score_maps(o);
        ASSERT_TRUE(r.boxes.has_value());
        EXPECT_EQ(r.num_images, ref["num_images"].get<int64_t>());
        EXPECT_EQ(r.boxes->maxboxacc, ref["maxboxacc"].get<double>());
        EXPECT_EQ(r.boxes->maxboxacc_v2, ref["maxboxacc_v2"].get<double>());
        for (size_t d = 0; d < 3; ++d) {
            const std::string delta = std::to_string(r.boxes->all[d].iou_threshold);
            EXPECT_EQ(r.boxes->largest[d].num_correct, ref["num_correct"][delta].get<std::vector<int64_t>>()) << delta;
            EXPECT_EQ(r.boxes->all[d].num_correct, ref["num_correct_v2"][delta].get<std::vector<int64_t>>()) << delta;
            EXPECT_EQ(r.boxes->largest[d].max_box_acc, ref["maxboxacc_at"][delta].get<double>()) << delta;
            EXPECT_EQ(r.boxes->all[d].max_box_acc, ref["maxboxacc_v2_at"][delta].get<double>()) << delta;
        }
    }
    std::filesystem::remove_all(maps);
}

}  // namespace
}  // namespace wsol::eval
