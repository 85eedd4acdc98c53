// The table of methods make_method() knows. Adding a method: write train/method_<name>.cpp with a
// `make_<name>` function and add one line to method_registry() in train/method_registry.cpp.
#pragma once

#include <functional>
#include <vector>

#include "models/vit/vit.h"
#include "train/method.h"

namespace wsol::train {

struct MethodEntry {
    std::string name;
    std::function<std::unique_ptr<Method>(const nlohmann::json&, uint64_t)> make;
};

const std::vector<MethodEntry>& method_registry();

std::unique_ptr<Method> make_sat(const nlohmann::json& description, uint64_t seed);
std::unique_ptr<Method> make_vit(const nlohmann::json& description, uint64_t seed);

// Reads the ViT part of a description: "architecture" (a DeiT name, or "custom" with embed_dim,
// depth, num_heads, patch_size), "image_size", "drop_path". Unknown keys are left to the caller.
models::ViTConfig vit_config_from(const nlohmann::json& description);
// Throws naming the first key of `description` not in `known`.
void check_known_keys(const nlohmann::json& description, const std::set<std::string>& known, const char* method);

}  // namespace wsol::train
