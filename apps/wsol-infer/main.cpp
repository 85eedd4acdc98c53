// wsol-infer: image files in -> top-5 classes with probabilities, the localisation box, and an overlay
// PNG (heat map + box) per image. A thin front end over train/inference.h.
//
//   wsol-infer --checkpoint run/checkpoints/best.safetensors IMAGE... [--out overlays/]
//              [--threshold 0.4] [--json predictions.json] [--device cpu]
//   wsol-infer --checkpoint sat_cub.pth --method sat IMAGE...      (a public checkpoint, converted on the fly)
//
// Exit status: 0 done, 2 usage error, 1 failure (one line on stderr).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <set>

#include "engine/file_util.h"
#include "train/inference.h"

int main(int argc, char** argv) {
    CLI::App app{"wsol-infer: classify and localise images with a WSOL model"};
    std::string checkpoint, out_dir, json_path;
    std::vector<std::string> images;
    wsol::train::LoadOptions load;
    double threshold = -1.0;
    int top = 5;
    app.add_option("--checkpoint", checkpoint, "wsol checkpoint, or a public .pth/.safetensors with --method")->required();
    app.add_option("images", images, "image files (JPEG or PNG)")->required();
    app.add_option("--method", load.method, "method of a public checkpoint (sat, vit)");
    app.add_option("--arch", load.architecture, "architecture of a public checkpoint (default: read off its tensors)");
    app.add_option("--heads", load.num_heads, "attention heads of a public checkpoint of a custom width (default: width/64)");
    app.add_option("--device", load.device, "cpu or cuda[:N]")->capture_default_str();
    app.add_option("--threshold", threshold, "map threshold for the box (default: the legacy threshold that did best on the training run's held-out split, stored in the checkpoint; else 0.4)");
    app.add_option("--top", top, "how many classes to list")->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--out", out_dir, "write <out>/<image name>.png overlays");
    app.add_option("--json", json_path, "write all predictions as JSON");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;  // --help: 0; any usage error: 2 (CLI11's own codes vary)
    }
    try {
        wsol::train::LoadedModel model = wsol::train::load_model(checkpoint, load);
        if (threshold < 0) threshold = model.meta.value("legacy_threshold", 0.4);
        if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
        nlohmann::json all = nlohmann::json::array();
        std::set<std::string> used_names;  // two images with one file name get distinct overlays
        auto name_of = [&](int c) {
            return c < int(model.class_names.size()) ? model.class_names[size_t(c)] : "class " + std::to_string(c);
        };
        for (const std::string& path : images) {
            const wsol::train::ImagePrediction p = wsol::train::predict_image(model, path, threshold, top);
            std::printf("%s (%dx%d)\n", path.c_str(), p.width, p.height);
            nlohmann::json classes = nlohmann::json::array();
            for (size_t k = 0; k < p.top_classes.size(); ++k) {
                std::printf("  %zu. %-32s %6.2f%%\n", k + 1, name_of(p.top_classes[k]).c_str(), 100.0 * p.top_probabilities[k]);
                classes.push_back({{"class", p.top_classes[k]}, {"name", name_of(p.top_classes[k])},
                                   {"probability", p.top_probabilities[k]}});
            }
            std::printf("  box [%d, %d, %d, %d] (threshold %.3g)\n", int(p.box.x0), int(p.box.y0), int(p.box.x1),
                        int(p.box.y1), threshold);
            nlohmann::json entry = {{"image", path},
                                    {"width", p.width},
                                    {"height", p.height},
                                    {"top", classes},
                                    {"box", {p.box.x0, p.box.y0, p.box.x1, p.box.y1}},
                                    {"threshold", threshold}};
            if (!out_dir.empty()) {
                std::string stem = std::filesystem::path(path).stem().string();
                for (int k = 2; !used_names.insert(stem).second; ++k) stem = std::filesystem::path(path).stem().string() + "_" + std::to_string(k);
                const std::string png = out_dir + "/" + stem + ".png";
                wsol::train::write_prediction_overlay(png, p, model.class_names);
                std::printf("  overlay %s\n", png.c_str());
                entry["overlay"] = png;
            }
            all.push_back(entry);
        }
        if (!json_path.empty()) wsol::write_file_atomic(json_path, all.dump(2) + "\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsol-infer: %s\n", e.what());
        return 1;
    }
}
