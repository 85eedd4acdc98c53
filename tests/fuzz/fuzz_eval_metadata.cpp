// libFuzzer target for the metadata reader of score-map evaluation (eval/metadata.cpp,
// load_wsol_metadata), which `wsol-eval scoremaps` runs on a user's folder: the data layer's reader
// (data::read_wsoleval, also fuzzed in memory by fuzz_data_lists) through the files, plus the checks
// evaluation adds.
//
// Input layout: byte 0's low 4 bits say which of image_ids.txt, class_labels.txt, image_sizes.txt
// and localization.txt exist; the rest is split at 0x00 bytes into their texts, in that order. The
// files are written to a folder of this process under the temp dir, then read back. The reader may
// throw wsol::Error (bad input, reported) and nothing else; crashes, hangs, sanitizer reports or
// another exception type are bugs.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "eval/metadata.h"

namespace {

const char* const kFiles[] = {"image_ids.txt", "class_labels.txt", "image_sizes.txt", "localization.txt"};

std::string folder() {
    static const std::string dir = [] {
        const std::string d =
            (std::filesystem::temp_directory_path() / ("wsol_fuzz_eval_metadata_" + std::to_string(getpid()))).string();
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    std::vector<std::string> parts(4);
    size_t k = 0;
    for (size_t i = 1; i < size; ++i) {
        if (data[i] == 0 && k + 1 < parts.size()) {
            ++k;
            continue;
        }
        parts[k].push_back(char(data[i]));
    }
    const std::string dir = folder();
    for (size_t f = 0; f < parts.size(); ++f) {
        const std::string path = dir + "/" + kFiles[f];
        if (data[0] & (1u << f)) {
            std::ofstream(path, std::ios::binary | std::ios::trunc) << parts[f];
        } else {
            std::filesystem::remove(path);
        }
    }
    try {
        const wsol::eval::WsolMetadata meta = wsol::eval::load_wsol_metadata(dir);
        // Whatever was accepted is self-consistent.
        if (meta.image_ids.empty()) __builtin_trap();
        if (meta.has_boxes() && meta.boxes.size() != meta.size()) __builtin_trap();
    } catch (const wsol::Error&) {
    }
    return 0;
}
