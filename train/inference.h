// Loading a model for evaluation or inference, from a wsol checkpoint or straight from a public
// PyTorch file (a released SAT .pth, a timm/DeiT checkpoint) with the method named by the caller.
// Public files are mapped to our names (the {"model": ...} wrapper and DataParallel's "module."
// prefix removed; the names are otherwise the seeds' own) and loaded strictly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "train/method.h"

namespace wsol::train {

struct LoadOptions {
    std::string method;        // required for public files (sat, vit); checked against wsol checkpoints
    std::string architecture;  // public files: default from the tensors' shapes (DeiT-T/S/B, or "custom")
    int64_t image_size = 0;    // public files: 0 = from the position embedding's patch grid
    int64_t num_heads = 0;     // public files of a custom width: 0 = width / 64
    std::string device = "cpu";
    // Public files: keys merged into the model description read off the tensors, e.g. a custom
    // architecture {"architecture": "custom", "embed_dim": 32, "depth": 3, "num_heads": 2, "patch_size": 8}.
    nlohmann::json description = nlohmann::json::object();
};

struct LoadedModel {
    std::unique_ptr<Method> method;
    int resize = 256, crop = 224;          // the legacy test transform (resize, centre crop)
    std::vector<std::string> class_names;  // empty when unknown
    nlohmann::json meta;                   // the checkpoint's metadata (empty for public files)
    std::string source;
    std::string how;  // "wsol checkpoint" or "converted from <container>"
};

LoadedModel load_model(const std::string& path, const LoadOptions& options = {});

// A model as a wsol checkpoint (for wsol-convert): model tensors and the metadata that rebuilds it.
void save_model(const std::string& path, const LoadedModel& model);

// One image file as the network input: resize x resize (aspect ignored, PIL-exact), centre crop, then
// ImageNet normalisation: (1, 3, crop, crop) float32. `original` receives the decoded image size.
Tensor load_input_image(const std::string& path, int resize, int crop, int* original_width = nullptr,
                        int* original_height = nullptr);

struct ImagePrediction {
    std::string path;
    int width = 0, height = 0;            // the image's own size
    int resize = 256;                     // the input pipeline: resize, then the map's crop
    std::vector<int> top_classes;         // best first
    std::vector<double> top_probabilities;
    double threshold = 0.0;
    data::Box box;          // the localisation box in the image's own pixels (inclusive corners)
    data::Box crop_box;     // the same box in the network input's crop
    Tensor map;             // (crop, crop) float32 map in [0, 1] (min-max normalised, bilinear)
};

// Classifies and localises one image with the legacy test pipeline: resize + centre crop, the map
// min-max normalised and resized bilinearly to the crop, the largest 8-connected region above
// `threshold`, and its box mapped back through the crop and the resize to the image's pixels.
ImagePrediction predict_image(LoadedModel& model, const std::string& path, double threshold, int top = 5);

// The image with the heat map blended over it, the box, and the top class written on it (PNG,
// written atomically).
void write_prediction_overlay(const std::string& png_path, const ImagePrediction& p,
                              const std::vector<std::string>& class_names);

}  // namespace wsol::train
