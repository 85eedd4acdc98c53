// CUB-200-2011 in its official archive layout (CUB_200_2011.tgz, unpacked), read as is — no
// re-foldering into train/ and test/ by hand as the seeds' ImageFolder loaders require:
//   <root>/images/<NNN.Class_Name>/<file>.jpg
//   <root>/images.txt              <image id> <NNN.Class_Name>/<file>.jpg
//   <root>/image_class_labels.txt  <image id> <class id 1..200>
//   <root>/train_test_split.txt    <image id> <1 = train, 0 = test>
//   <root>/bounding_boxes.txt      <image id> <x> <y> <width> <height>   (floats, pixels)
//   <root>/classes.txt             <class id> <NNN.Class_Name>
// Labels are class id - 1 (0..199), which equals the seeds' ImageFolder labels (sorted folder
// names "001...", "002...", ...). The box becomes (x, y, x + width, y + height), the corners the
// SAT/CSFN list files hold (test_bounding_box.txt) and the evaluators rescale. Image ids equal
// wsolevaluation's CUB image ids (the path under images/). Records keep images.txt order.
//
// All files are keyed by the image id; an id missing from a file, listed twice, or unknown to
// images.txt is a "lines disagree" error naming the file and line, as is a class id not in
// classes.txt.
#pragma once

#include <string>

#include "data/dataset.h"

namespace wsol::data {

enum class CubSplit { Train, Test, All };

struct CubTexts {
    std::string images, image_class_labels, train_test_split, bounding_boxes, classes;
};

Dataset parse_cub(const CubTexts& texts, const std::string& root, CubSplit split, const ReadOptions& options = {});
Dataset read_cub(const std::string& root, CubSplit split, const ReadOptions& options = {});

}  // namespace wsol::data
