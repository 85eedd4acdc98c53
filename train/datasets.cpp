#include "train/datasets.h"

#include <filesystem>

#include "data/cub.h"
#include "data/ilsvrc.h"
#include "data/wsoleval.h"
#include "engine/file_util.h"
#include "engine/pth.h"
#include "nn/checkpoint.h"

namespace wsol::train {

namespace fs = std::filesystem;

std::string Splits::describe() const {
    auto size = [](const std::shared_ptr<const data::Dataset>& d) { return d ? std::to_string(d->size()) : "-"; };
    return kind + " at " + image_root + ": " + std::to_string(num_classes) + " classes, train " + size(train) +
           ", val " + size(val) + ", test " + size(test) + (mask_root.empty() ? "" : ", masks");
}

namespace {

bool is_dir(const fs::path& p) { return fs::is_directory(p); }

std::shared_ptr<const data::Dataset> wsoleval_split(const fs::path& metadata, const char* split, const std::string& root,
                                                    const data::ReadOptions& options) {
    const fs::path dir = metadata / split;
    if (!is_dir(dir)) return nullptr;
    return std::make_shared<data::Dataset>(data::read_wsoleval(dir.string(), root, options));
}

}  // namespace

Splits find_splits(const std::string& root_in, const std::string& metadata_in, const data::ReadOptions& options) {
    fs::path root = root_in;
    fs::path metadata = metadata_in;
    WSOL_CHECK(is_dir(root), "dataset: ", root_in, " is not a folder");
    // A wsol-synth output folder: pick its CUB layout (the ILSVRC one is at root/ILSVRC).
    if (is_dir(root / "CUB_200_2011") && !fs::exists(root / "images.txt")) {
        if (metadata.empty() && is_dir(root / "metadata" / "CUB")) metadata = root / "metadata" / "CUB";
        root = root / "CUB_200_2011";
    }
    const bool cub = fs::exists(root / "images.txt");
    const bool ilsvrc = is_dir(root / "train") && !cub;
    if (metadata.empty()) {
        // wsol-synth puts metadata/<CUB|ILSVRC> beside the dataset folder.
        for (const fs::path& candidate : {root.parent_path() / "metadata" / (cub ? "CUB" : "ILSVRC"), root / "metadata"}) {
            if (is_dir(candidate / "train") || is_dir(candidate / "test")) {
                metadata = candidate;
                break;
            }
        }
    }
    Splits s;
    if (cub) {
        s.image_root = (root / "images").string();
        if (is_dir(root / "segmentations")) s.mask_root = (root / "segmentations").string();
    } else {
        s.image_root = root.string();
        if (is_dir(root / "masks")) s.mask_root = (root / "masks").string();
    }
    if (!metadata.empty()) {
        s.kind = "wsoleval";
        s.train = wsoleval_split(metadata, "train", s.image_root, options);
        s.val = wsoleval_split(metadata, "val", s.image_root, options);
        s.test = wsoleval_split(metadata, "test", s.image_root, options);
        WSOL_CHECK(s.train || s.test, "dataset: metadata folder ", metadata.string(), " has neither train/ nor test/");
    } else if (cub) {
        s.kind = "cub";
        s.train = std::make_shared<data::Dataset>(data::read_cub(root.string(), data::CubSplit::Train, options));
        s.test = std::make_shared<data::Dataset>(data::read_cub(root.string(), data::CubSplit::Test, options));
    } else if (ilsvrc) {
        s.kind = "ilsvrc";
        auto train = std::make_shared<data::Dataset>(data::read_image_folder((root / "train").string(), options));
        s.train = train;
        if (is_dir(root / "val") && is_dir(root / "val_xml")) {
            s.test = std::make_shared<data::Dataset>(
                data::read_ilsvrc_val((root / "val").string(), (root / "val_xml").string(), train->class_names, options));
        }
    } else {
        WSOL_FAIL("dataset: ", root.string(), " is neither a CUB_200_2011 folder (images.txt), an ILSVRC folder "
                  "(train/<wnid>/), nor a wsol-synth output; give --metadata for wsolevaluation splits");
    }
    // wsolevaluation metadata carries class numbers only; take the names from the dataset's own list.
    if (s.kind == "wsoleval" && cub) {
        const std::vector<std::string> names = data::read_cub(root.string(), data::CubSplit::Train, options).class_names;
        for (auto* split : {&s.train, &s.val, &s.test}) {
            if (!*split || (*split)->num_classes > int64_t(names.size())) continue;
            auto named = std::make_shared<data::Dataset>(**split);
            named->class_names = names;
            named->num_classes = int64_t(names.size());
            *split = named;
        }
    }
    for (const auto& split : {s.train, s.val, s.test}) {
        if (split) s.num_classes = std::max(s.num_classes, split->num_classes);
    }
    WSOL_CHECK(s.num_classes > 0, "dataset: ", root.string(), " has no classes");
    return s;
}

NamedTensors load_backbone_state(const std::string& path) {
    WSOL_CHECK(fs::exists(path), path, ": no such file");
    NamedTensors state;
    if (nn::is_wsol_checkpoint(path)) {
        state = nn::load_checkpoint(path).model;
    } else {
        const std::string bytes = read_file(path);
        const bool safetensors = path.size() > 12 && path.substr(path.size() - 12) == ".safetensors";
        state = safetensors ? parse_safetensors(bytes, path).tensors : pth_state_dict(parse_pth(bytes, path).object, path);
    }
    // DataParallel / DistributedDataParallel checkpoints prefix every key with "module.".
    bool all_module = !state.empty();
    for (const auto& [name, t] : state) all_module = all_module && name.rfind("module.", 0) == 0;
    if (all_module) {
        for (auto& [name, t] : state) name = name.substr(7);
    }
    return state;
}

}  // namespace wsol::train
