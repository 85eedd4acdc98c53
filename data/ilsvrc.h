// ImageNet (ILSVRC 2012) as it is distributed, and any torchvision-ImageFolder tree.
//
//   read_image_folder  <root>/<class>/<file>: classes are the sorted sub-folder names, labels their
//                      index (torchvision's ImageFolder rule), files sorted by name within a class.
//                      ILSVRC train/<wnid>/*.JPEG gives labels by sorted wnid, as every seed uses;
//                      it also reads the seeds' re-foldered CUB train/ and test/ trees.
//   read_ilsvrc_val    the 50,000 validation images with their boxes from ImageNet's per-image
//                      PASCAL-VOC XML files (ILSVRC2012_bbox_val_v3.tgz, val/<image>.xml). The label
//                      is the wnid of the first object; the boxes are all objects of that wnid,
//                      kept as 0-based inclusive corners and clipped to (W - 1, H - 1) — what
//                      wsolevaluation's ILSVRC/test localization.txt holds (its first line,
//                      "val/ILSVRC2012_val_00000001.JPEG,111,108,441,193", is that XML's box).
//   The wsolevaluation metadata for ILSVRC reads with wsoleval.h, the seeds' val_gt.txt with
//   seed_lists.h.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace wsol::data {

// Sorted names of the sub-folders of `root` (the classes of an ImageFolder tree).
std::vector<std::string> list_class_folders(const std::string& root);

// Extensions are matched case-insensitively; the default takes .jpg, .jpeg and .png.
Dataset read_image_folder(const std::string& root, const ReadOptions& options = {},
                          const std::vector<std::string>& extensions = {".jpg", ".jpeg", ".png"});

struct XmlObject {
    std::string name;  // the wnid
    Box box;           // xmin, ymin, xmax, ymax as written
};

struct ImagenetAnnotation {
    std::string filename;  // without extension in ImageNet's files, e.g. "ILSVRC2012_val_00000001"
    int width = 0, height = 0;
    std::vector<XmlObject> objects;
};

// The fields wsol needs from one ImageNet/PASCAL-VOC annotation; `source` names it in errors.
ImagenetAnnotation parse_imagenet_xml(std::string_view xml, const std::string& source);

// Validation records from <annotation_dir>/*.xml (sorted by name). Images are
// <image_dir>/<filename>.JPEG, or <image_dir>/<wnid>/<filename>.JPEG when `foldered` (the seeds'
// ImageFolder copy of val/). `wnids` are the sorted class folders of the training set.
Dataset read_ilsvrc_val(const std::string& image_dir, const std::string& annotation_dir,
                        const std::vector<std::string>& wnids, const ReadOptions& options = {}, bool foldered = false);

// One validation record from parsed XML text (exposed for tests and the fuzzer).
Record ilsvrc_val_record(const ImagenetAnnotation& annotation, const std::vector<std::string>& wnids,
                         const std::string& image_dir, bool foldered, const std::string& source);

}  // namespace wsol::data
