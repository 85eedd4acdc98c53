// Finding a dataset's splits from one folder, whatever layout the user has:
//
//   wsol-synth output      <root>/CUB_200_2011 + <root>/metadata/CUB (and ILSVRC likewise)
//   CUB-200-2011           <root>/images.txt ...  (official archive layout; train/test from
//                          train_test_split.txt; a `val` split needs wsolevaluation metadata)
//   ILSVRC                 <root>/train/<wnid>/*.JPEG, <root>/val + <root>/val_xml (ImageNet XML)
//   wsolevaluation         --metadata <dir with train/ val/ test/>, images relative to <root>
//
// With metadata, every split comes from it (the wsolevaluation protocol's splits, including the
// held-out `val` used to pick checkpoints); without, train/test come from the official layout and
// there is no `val`.
#pragma once

#include <memory>
#include <string>

#include "data/dataset.h"
#include "engine/safetensors.h"

namespace wsol::train {

struct Splits {
    std::string kind;  // "cub", "ilsvrc" or "wsoleval"
    std::string image_root;
    std::string mask_root;  // "" when the dataset has no masks
    std::shared_ptr<const data::Dataset> train, val, test;  // val may be null
    int64_t num_classes = 0;
    std::string describe() const;  // one line: sizes and where they come from
};

// `metadata` may be empty (then it is looked for next to `root`).
Splits find_splits(const std::string& root, const std::string& metadata, const data::ReadOptions& options);

// A pretrained backbone's state dict from a .pth (any container) or .safetensors file, or the
// model part of a wsol checkpoint; unwraps {"model": ...}, "module." prefixes (DataParallel).
NamedTensors load_backbone_state(const std::string& path);

}  // namespace wsol::train
