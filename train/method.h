// A WSOL method as the training and evaluation code sees it: a model, its training losses, and how
// it turns images into class scores and a localisation map. One implementation per method
// (train/method_sat.cpp, ...), created by name through make_method(); the apps never touch a
// method's internals.
//
// The model description (a JSON object) is what a checkpoint's metadata records, so that a
// checkpoint alone is enough to rebuild the model that wrote it:
//   {"method": "sat", "architecture": "deit_small_patch16_224", "num_classes": 200,
//    "area_threshold": 0.25, "drop_path": 0.1, "image_size": 224, ...}
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/generator.h"
#include "engine/safetensors.h"
#include "nn/module.h"

namespace wsol::train {

struct LossTerms {
    Tensor total;                // the scalar to differentiate
    NamedTensors terms;          // each named term (scalars), for logs: {"cls", ...}, {"area", ...}
    Tensor logits;               // (B, C), for training accuracy
};

struct Prediction {
    Tensor logits;  // (B, C)
    Tensor maps;    // (B, h, w) class-agnostic localisation maps on the model's grid (raw, not normalised)
};

class Method {
public:
    virtual ~Method() = default;
    virtual std::string name() const = 0;
    virtual nn::Module& model() = 0;
    // Forward in the model's current mode, with the method's losses.
    virtual LossTerms losses(const Tensor& images, const Tensor& labels) = 0;
    // Scores and maps for evaluation (call under NoGradGuard with the model in eval mode).
    virtual Prediction predict(const Tensor& images) = 0;
    // The model description recorded in checkpoints (see the top of this file).
    virtual nlohmann::json describe() const = 0;
    // Parameters that are not weight-decayed besides biases and 1-D ones (the method's
    // no_weight_decay list; applied only when the recipe asks for it).
    virtual std::set<std::string> no_weight_decay() const { return {}; }
    // Initialises from a pretrained backbone's state dict (already converted to our names):
    // copies every key that exists here with the same shape except the classifier (head.*, head_dist.*),
    // drops the rest,
    // and returns a one-line summary of what was kept, skipped and left at its fresh init.
    virtual std::string load_pretrained(const NamedTensors& backbone_state);
    // The random stream of the model's stochastic layers (drop-path), saved in checkpoints.
    virtual Generator& generator() = 0;
};

// Builds a method from a description (the keys above; unknown keys are an error naming them).
std::unique_ptr<Method> make_method(const nlohmann::json& description, uint64_t seed);
// Names of the methods make_method knows.
std::vector<std::string> method_names();

}  // namespace wsol::train
