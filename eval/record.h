// One evaluated image, whatever produced it: a directory of score maps (wsol-eval scoremaps), a
// model run (wsol-eval model, later), or hand-built records in tests. The metrics consume these.
#pragma once

#include <string>
#include <vector>

#include "eval/box.h"
#include "eval/scoremap.h"

namespace wsol::eval {

struct EvalRecord {
    std::string image_id;
    ScoreMap score_map;          // on the grid the GT boxes are given in
    std::vector<Box> gt_boxes;   // inclusive corners, on the score map's grid; at least one
    int label = -1;              // ground-truth class, -1 when unknown
    std::vector<int> top5;       // predicted classes, best first (may be shorter or empty)

    bool top1_correct() const { return !top5.empty() && top5[0] == label; }
    bool top5_correct() const {
        for (size_t i = 0; i < top5.size() && i < 5; ++i) {
            if (top5[i] == label) return true;
        }
        return false;
    }
};

}  // namespace wsol::eval
