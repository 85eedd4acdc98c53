#include "train/method.h"

#include <map>

#include "autograd/node.h"
#include "train/method_registry.h"

namespace wsol::train {

std::string Method::load_pretrained(const NamedTensors& backbone_state) {
    std::map<std::string, const Tensor*> ours;
    NamedTensors own = model().state_dict();
    for (const auto& [name, t] : own) ours[name] = &t;
    NamedTensors matched;
    std::vector<std::string> skipped;
    for (const auto& [name, t] : backbone_state) {
        // The pretrained classifier never transfers (other classes): SAT and CSFN delete head.* and
        // head_dist.* before loading DeiT (sat_csfn.md D1), even where a shape happens to match.
        if (name.rfind("head.", 0) == 0 || name.rfind("head_dist.", 0) == 0) {
            skipped.push_back(name);
            continue;
        }
        auto it = ours.find(name);
        if (it != ours.end() && it->second->shape() == t.shape()) {
            matched.emplace_back(name, t);
            ours.erase(it);
        } else {
            skipped.push_back(name + (it == ours.end() ? "" : " (shape " + shape_str(t.shape()) + ")"));
        }
    }
    WSOL_CHECK(!matched.empty(), name(), ": the pretrained state shares no key of the same shape with the model; "
               "is it the right architecture?");
    model().load_state_dict(matched, /*strict=*/false);
    std::string summary = "loaded " + std::to_string(matched.size()) + " tensors; fresh: ";
    size_t listed = 0;
    for (const auto& [name, t] : ours) summary += (listed++ < 8 ? name + " " : "");
    if (ours.size() > 8) summary += "... (" + std::to_string(ours.size()) + ")";
    if (!skipped.empty()) {
        summary += "; dropped:";
        for (size_t i = 0; i < skipped.size() && i < 8; ++i) summary += " " + skipped[i];
        if (skipped.size() > 8) summary += " ... (" + std::to_string(skipped.size()) + ")";
    }
    return summary;
}

std::unique_ptr<Method> make_method(const nlohmann::json& description, uint64_t seed) {
    WSOL_CHECK(description.is_object() && description.contains("method") && description["method"].is_string(),
               "model description: expected an object with a \"method\" name, got ", description.dump());
    const std::string name = description["method"].get<std::string>();
    for (const MethodEntry& entry : method_registry()) {
        if (entry.name == name) return entry.make(description, seed);
    }
    std::string known;
    for (const std::string& n : method_names()) known += (known.empty() ? "" : ", ") + n;
    WSOL_FAIL("unknown method '", name, "' (known: ", known, ")");
}

std::vector<std::string> method_names() {
    std::vector<std::string> out;
    for (const MethodEntry& entry : method_registry()) out.push_back(entry.name);
    return out;
}

}  // namespace wsol::train
