// The report a training run (or wsol-eval) leaves behind: report.json (every metric, the curves and
// the settings), report.txt (the tables), overlays/ (heat map + boxes per image, index.html) and
// report.html, a page with the headline numbers, the training curves and a link to the overlays.
#pragma once

#include <string>

#include "train/config.h"
#include "train/datasets.h"
#include "train/evaluate.h"

namespace wsol::train {

struct TrainResult;

// The headline numbers, one per line ("GT-known Loc 97.30", ...), for consoles and the HTML page.
std::string headline(const EvalReport& report);

void write_eval_report(const std::string& dir, const EvalReport& report, const nlohmann::json& settings,
                       const std::string& title);
void write_run_report(const std::string& dir, const TrainConfig& config, const TrainResult& result,
                      const EvalReport& test, const Splits& splits);

}  // namespace wsol::train
