// Score-map mode end to end: a temporary metadata folder and .npy maps, evaluated by
// evaluate_score_maps and checked against a direct per-threshold count through the OpenCV
// reference path; bad input, --skip-bad, naming, thread independence, masks and the CLI.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "engine/file_util.h"
#include "engine/npy.h"
#include "eval/contours.h"
#include "eval/report.h"
#include "support/testing.h"

namespace wsol::eval {
namespace {

class Dataset {
public:
    Dataset() {
        root_ = ::testing::TempDir() + "/wsol_smeval_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++);
        std::filesystem::create_directories(root_ + "/meta");
        std::filesystem::create_directories(root_ + "/maps");
    }
    ~Dataset() { std::filesystem::remove_all(root_); }
    std::string meta() const { return root_ + "/meta"; }
    std::string maps() const { return root_ + "/maps"; }
    const std::string& root() const { return root_; }

    void file(const std::string& rel, const std::string& text) const {
        std::filesystem::create_directories(std::filesystem::path(root_ + "/" + rel).parent_path());
        std::ofstream(root_ + "/" + rel) << text;
    }
    void map(const std::string& stem, const Tensor& t) const {
        std::filesystem::create_directories(std::filesystem::path(maps() + "/" + stem).parent_path());
        save_npy(maps() + "/" + stem + ".npy", t);
    }

private:
    static inline int counter_ = 0;
    std::string root_;
};

// A smooth random map in [0, 1] with a few blobs.
Tensor random_map(std::mt19937& rng, int h, int w, bool as_float32) {
    std::vector<double> v(size_t(h * w));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double cx[3], cy[3];
    for (int k = 0; k < 3; ++k) cx[k] = u(rng) * w, cy[k] = u(rng) * h;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double s = 0.1 * u(rng);
            for (int k = 0; k < 3; ++k) s += std::exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) / (0.02 * h * w));
            v[size_t(y * w + x)] = s;
        }
    ScoreMap m(h, w);
    m.values = v;
    m = normalize_min_max(m);
    Tensor t = score_map_to_tensor(m);
    if (!as_float32) return t;
    std::vector<float> f(m.values.begin(), m.values.end());
    return Tensor::from_vector<float>(f, {h, w});
}

// Writes n images of varied sizes (maps 32x40 or 48x48, images larger) with 1-3 GT boxes each.
void write_dataset(const Dataset& d, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string ids, labels, sizes, loc;
    for (int i = 0; i < n; ++i) {
        const std::string id = "cls" + std::to_string(i % 3) + "/img" + std::to_string(i) + ".jpg";
        const int w = 50 + int(rng() % 200), h = 50 + int(rng() % 200);
        ids += id + "\n";
        labels += id + "," + std::to_string(i % 3) + "\n";
        sizes += id + "," + std::to_string(w) + "," + std::to_string(h) + "\n";
        for (int k = 0; k < 1 + i % 3; ++k) {
            int x0 = int(rng() % w), x1 = int(rng() % w), y0 = int(rng() % h), y1 = int(rng() % h);
            loc += id + "," + std::to_string(std::min(x0, x1)) + "," + std::to_string(std::min(y0, y1)) + "," +
                   std::to_string(std::max(x0, x1)) + "," + std::to_string(std::max(y0, y1)) + "\n";
        }
        const bool square = i % 2 == 0;
        d.map(strip_extension(id), random_map(rng, square ? 48 : 32, square ? 48 : 40, i % 3 == 1));
    }
    d.file("meta/image_ids.txt", ids);
    d.file("meta/class_labels.txt", labels);
    d.file("meta/image_sizes.txt", sizes);
    d.file("meta/localization.txt", loc);
}

ScoreMapEvalOptions options_for(const Dataset& d, double interval = 0.01) {
    ScoreMapEvalOptions o;
    o.metadata_dir = d.meta();
    o.scoremap_dir = d.maps();
    o.cam_curve_interval = interval;
    return o;
}

TEST(ScoreMapEval, CountsEqualTheOpenCVReferencePath) {
    Dataset d;
    write_dataset(d, 12, 7);
    const ScoreMapEvalOptions o = options_for(d);
    const ScoreMapEvalResult r = evaluate_score_maps(o);
    ASSERT_TRUE(r.boxes.has_value());
    EXPECT_EQ(r.num_images, 12);
    // Independent count: per image and threshold, OpenCV contours at int(tau * max) and IoU with the
    // GT boxes rescaled to the map grid.
    const WsolMetadata meta = load_wsol_metadata(d.meta());
    const std::vector<double> taus = cam_thresholds(0.01);
    std::vector<std::vector<int64_t>> largest(3, std::vector<int64_t>(taus.size())), all = largest;
    const int deltas[3] = {30, 50, 70};
    for (size_t i = 0; i < meta.size(); ++i) {
        const ScoreMap m = load_score_map(score_map_path(o, meta.image_ids[i]));
        const QuantizedMap q = quantize_score_map(m);
        std::vector<Box> gt;
        for (const Box& b : meta.boxes[i]) gt.push_back(rescale_box(b, meta.sizes[i].width, meta.sizes[i].height, m.width, m.height));
        for (size_t t = 0; t < taus.size(); ++t) {
            const int level = threshold_level(taus[t], q.max_level);
            const double l = best_iou(contour_boxes(q, level, ContourSelection::Largest)[0], gt);
            double a = -1;
            for (const Box& b : contour_boxes(q, level, ContourSelection::All)) a = std::max(a, best_iou(b, gt));
            for (int k = 0; k < 3; ++k) {
                largest[size_t(k)][t] += l >= deltas[k] / 100.0;
                all[size_t(k)][t] += a >= deltas[k] / 100.0;
            }
        }
    }
    for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(r.boxes->largest[size_t(k)].num_correct, largest[size_t(k)]) << "delta " << deltas[k];
        EXPECT_EQ(r.boxes->all[size_t(k)].num_correct, all[size_t(k)]) << "delta " << deltas[k];
    }
    // The per-image details at the chosen thresholds add up to the curve maxima.
    const std::vector<ImageDetail> details = box_details(o, r);
    ASSERT_EQ(details.size(), 12u);
    for (size_t k = 0; k < 3; ++k) {
        int64_t correct = 0;
        for (const ImageDetail& x : details) correct += x.all[k].correct;
        EXPECT_EQ(correct, r.boxes->all[k].num_correct[r.boxes->all[k].best_index]);
    }
    int64_t correct50 = 0;
    for (const ImageDetail& x : details) correct50 += x.largest.correct;
    EXPECT_EQ(correct50, r.boxes->largest[1].num_correct[r.boxes->largest[1].best_index]);
    // The CSV has a header and one row per image.
    const std::string csv = box_details_csv(details);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 13);
    EXPECT_NE(csv.find("image_id,map_height,map_width,gt_boxes,maxboxacc_threshold"), std::string::npos);
}

TEST(ScoreMapEval, ThreadCountDoesNotChangeTheResult) {
    Dataset d;
    write_dataset(d, 9, 3);
    ScoreMapEvalOptions o = options_for(d, 0.001);
    o.threads = 1;
    const nlohmann::ordered_json one = score_map_report_json(evaluate_score_maps(o), o)["curves"];
    o.threads = 3;
    const nlohmann::ordered_json three = score_map_report_json(evaluate_score_maps(o), o)["curves"];
    EXPECT_EQ(one, three);
}

TEST(ScoreMapEval, BadInputIsNamedOrSkipped) {
    Dataset d;
    write_dataset(d, 6, 11);
    // img1: a 3-D map; img2: NaN; img3: out of range; img4: int64; img5: missing.
    d.map("cls1/img1", Tensor::zeros({1, 4, 4}, kFloat64));
    d.map("cls2/img2", Tensor::from_vector<double>({0.0, NAN, 0.5, 1.0}, {2, 2}));
    d.map("cls0/img3", Tensor::from_vector<double>({0.0, 1.5, 0.5, 1.0}, {2, 2}));
    d.map("cls1/img4", Tensor::zeros({4, 4}, kInt64));
    std::filesystem::remove(d.maps() + "/cls2/img5.npy");
    ScoreMapEvalOptions o = options_for(d);
    // Without --skip-bad the first bad image in metadata order is reported, whatever the threads do.
    o.threads = 4;
    EXPECT_WSOL_ERROR(evaluate_score_maps(o), "cls1/img1.npy: score map must be 2-D (H, W), got shape (1,4,4)");
    o.skip_bad = true;
    const ScoreMapEvalResult r = evaluate_score_maps(o);
    EXPECT_EQ(r.num_images, 1);
    ASSERT_EQ(r.skipped.size(), 5u);
    EXPECT_EQ(r.skipped[0].image_id, "cls1/img1.jpg");
    EXPECT_NE(r.skipped[1].reason.find("contains NaN"), std::string::npos);
    EXPECT_NE(r.skipped[2].reason.find("outside [0, 1]"), std::string::npos);
    EXPECT_NE(r.skipped[3].reason.find("got int64"), std::string::npos);
    EXPECT_NE(r.skipped[4].reason.find("cls2/img5.npy: score map not found"), std::string::npos);
    const nlohmann::ordered_json j = score_map_report_json(r, o);
    EXPECT_EQ(j["num_skipped"], 5);
    EXPECT_EQ(j["num_images"], 1);
    // No image at all evaluable.
    for (int i = 0; i < 6; ++i) std::filesystem::remove_all(d.maps());
    EXPECT_WSOL_ERROR(evaluate_score_maps(o), "no image could be evaluated");
}

TEST(ScoreMapEval, KeepExtensionNaming) {
    Dataset d;
    d.file("meta/image_ids.txt", "a/x.JPEG");
    d.file("meta/image_sizes.txt", "a/x.JPEG,8,8");
    d.file("meta/localization.txt", "a/x.JPEG,2,2,5,5");
    // A 8x8 map with a 4x4 block at (2,2)-(5,5): the largest contour's box is [2,2,6,6]
    // (one past on the right/bottom): IoU with [2,2,5,5] = 16/25 = 0.64 at every threshold.
    std::vector<double> v(64, 0.0);
    for (int y = 2; y <= 5; ++y)
        for (int x = 2; x <= 5; ++x) v[size_t(y * 8 + x)] = 1.0;
    d.map("a/x.JPEG", Tensor::from_vector<double>(v, {8, 8}));
    ScoreMapEvalOptions o = options_for(d);
    EXPECT_WSOL_ERROR(evaluate_score_maps(o), "a/x.npy: score map not found");
    o.keep_extension = true;
    const ScoreMapEvalResult r = evaluate_score_maps(o);
    EXPECT_EQ(r.boxes->maxboxacc_v2, (100.0 + 100.0 + 0.0) / 3);  // 0.64 passes 0.3 and 0.5, not 0.7
    EXPECT_EQ(r.boxes->maxboxacc, 100.0);
}

TEST(ScoreMapEval, MasksGivePxap) {
    Dataset d;
    d.file("meta/image_ids.txt", "p/a.jpg\np/b.jpg");
    d.file("meta/image_sizes.txt", "");
    d.file("meta/localization.txt", "p/a.jpg,p/a_m0.png,p/a_ig.png\np/b.jpg,p/b_m0.png,p/b_ig.png\np/a.jpg,p/a_m1.png,");
    std::filesystem::create_directories(d.root() + "/masks/p");
    cv::Mat left(6, 6, CV_8UC1, cv::Scalar(0)), right(6, 6, CV_8UC1, cv::Scalar(0)), none(6, 6, CV_8UC1, cv::Scalar(0));
    left(cv::Rect(0, 0, 3, 6)).setTo(255);
    right(cv::Rect(3, 0, 3, 6)).setTo(255);
    cv::imwrite(d.root() + "/masks/p/a_m0.png", left);
    cv::imwrite(d.root() + "/masks/p/a_m1.png", none);
    cv::imwrite(d.root() + "/masks/p/a_ig.png", none);
    cv::imwrite(d.root() + "/masks/p/b_m0.png", right);
    cv::imwrite(d.root() + "/masks/p/b_ig.png", none);
    // Maps equal to the masks (1 on the foreground): a perfect ranking, PxAP 100.
    std::vector<double> a(36, 0.0), b(36, 0.0);
    for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 6; ++x) (x < 3 ? a : b)[size_t(y * 6 + x)] = 1.0;
    d.map("p/a", Tensor::from_vector<double>(a, {6, 6}));
    d.map("p/b", Tensor::from_vector<double>(b, {6, 6}));
    ScoreMapEvalOptions o = options_for(d);
    EXPECT_WSOL_ERROR(evaluate_score_maps(o), "the mask root folder is needed");
    o.mask_root = d.root() + "/masks";
    const ScoreMapEvalResult r = evaluate_score_maps(o);
    ASSERT_TRUE(r.pxap.has_value());
    EXPECT_FALSE(r.boxes.has_value());
    EXPECT_EQ(r.pxap->pxap, 100.0);
    EXPECT_EQ(score_map_report_json(r, o)["pxap"], 100.0);
}

// Runs the wsol-eval binary (when built) and returns its exit status.
int run_cli(const std::string& args, std::string* output = nullptr) {
    const std::string bin = std::string(WSOL_BIN_DIR) + "/wsol-eval";
    const std::string out_file = ::testing::TempDir() + "/wsol_cli_out_" + std::to_string(::getpid());
    const int status = std::system((bin + " " + args + " > " + out_file + " 2>&1").c_str());
    if (output) *output = read_file(out_file);
    std::filesystem::remove(out_file);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(WsolEvalCli, ScoreMapsEndToEnd) {
    if (!file_exists(std::string(WSOL_BIN_DIR) + "/wsol-eval")) GTEST_SKIP() << "wsol-eval is not built";
    Dataset d;
    write_dataset(d, 5, 5);
    const std::string json = d.root() + "/out.json", csv = d.root() + "/out.csv";
    std::string out;
    ASSERT_EQ(run_cli("scoremaps --metadata " + d.meta() + " --scoremaps " + d.maps() + " --json " + json + " --csv " + csv +
                          " --cam-curve-interval 0.01",
                      &out),
              0)
        << out;
    EXPECT_NE(out.find("MaxBoxAccV2"), std::string::npos);
    const nlohmann::json j = nlohmann::json::parse(read_file(json));
    for (const char* key : {"maxboxacc", "maxboxacc_v2", "maxboxacc_at", "maxboxacc_v2_at", "best_threshold",
                            "best_threshold_v2", "num_images", "curves", "settings"}) {
        EXPECT_TRUE(j.contains(key)) << key;
    }
    EXPECT_EQ(j["num_images"], 5);
    EXPECT_TRUE(j["maxboxacc_at"].contains("70"));
    EXPECT_EQ(j["curves"]["cam_thresholds"].size(), 100u);
    // Same numbers as the library.
    ScoreMapEvalOptions o = options_for(d);
    EXPECT_EQ(j["maxboxacc_v2"].get<double>(), evaluate_score_maps(o).boxes->maxboxacc_v2);
    EXPECT_NE(read_file(csv).find("cls0/img0.jpg"), std::string::npos);
    // Usage errors exit with 2, failures with 1 and one line naming the problem.
    EXPECT_EQ(run_cli("scoremaps --metadata " + d.meta()), 2);
    EXPECT_EQ(run_cli("scoremaps --metadata " + d.meta() + " --scoremaps " + d.maps() + " --overlays /tmp/x"), 2);
    std::filesystem::remove(d.maps() + "/cls1/img1.npy");
    EXPECT_EQ(run_cli("scoremaps --metadata " + d.meta() + " --scoremaps " + d.maps(), &out), 1);
    EXPECT_NE(out.find("wsol-eval: " + d.maps() + "/cls1/img1.npy: score map not found"), std::string::npos) << out;
    EXPECT_EQ(run_cli("scoremaps --metadata " + d.meta() + " --scoremaps " + d.maps() + " --skip-bad --json " + json), 0);
    EXPECT_EQ(nlohmann::json::parse(read_file(json))["num_skipped"], 1);
}

TEST(WsolEvalCli, OverlaysAndIndex) {
    if (!file_exists(std::string(WSOL_BIN_DIR) + "/wsol-eval")) GTEST_SKIP() << "wsol-eval is not built";
    Dataset d;
    write_dataset(d, 3, 9);
    for (int i = 0; i < 3; ++i) {
        const std::string rel = "images/cls" + std::to_string(i % 3) + "/img" + std::to_string(i) + ".jpg";
        std::filesystem::create_directories(std::filesystem::path(d.root() + "/" + rel).parent_path());
        cv::imwrite(d.root() + "/" + rel, cv::Mat(60, 80, CV_8UC3, cv::Scalar(40 * i, 100, 200)));
    }
    std::string out;
    ASSERT_EQ(run_cli("scoremaps --metadata " + d.meta() + " --scoremaps " + d.maps() + " --images " + d.root() +
                          "/images --overlays " + d.root() + "/ov --overlay-limit 2",
                      &out),
              0)
        << out;
    EXPECT_TRUE(file_exists(d.root() + "/ov/000000_cls0_img0.png"));
    EXPECT_TRUE(file_exists(d.root() + "/ov/000001_cls1_img1.png"));
    EXPECT_FALSE(file_exists(d.root() + "/ov/000002_cls2_img2.png"));
    const std::string html = read_file(d.root() + "/ov/index.html");
    EXPECT_NE(html.find("000001_cls1_img1.png"), std::string::npos);
    const cv::Mat png = cv::imread(d.root() + "/ov/000000_cls0_img0.png");
    EXPECT_EQ(png.cols, 48 * 10);  // 48x48 map upscaled by 10 to reach 448
}

}  // namespace
}  // namespace wsol::eval
