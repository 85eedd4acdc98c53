// libFuzzer target for every dataset list/metadata parser of the data layer: wsolevaluation
// metadata, the CUB official files, the SAT/CSFN lists (test_list + test_bounding_box, val_gt.txt,
// path-label lists) and ImageNet XML annotations.
//
// Input layout: byte 0 picks the parser (low 3 bits) and skip_bad (bit 3); the rest is split at
// 0x00 bytes into the parser's text files, in the order of its *Texts struct. A parser may throw
// wsol::Error (bad input, reported) and nothing else; crashes, hangs, sanitizer reports or another
// exception type are bugs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/cub.h"
#include "data/ilsvrc.h"
#include "data/seed_lists.h"
#include "data/wsoleval.h"
#include "engine/error.h"

namespace {

std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts) {
    std::vector<std::string> out(parts);
    size_t k = 0;
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0 && k + 1 < parts) {
            ++k;
            continue;
        }
        out[k].push_back(char(data[i]));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    using namespace wsol::data;
    ReadOptions options;
    options.skip_bad = (data[0] & 8) != 0;
    options.num_classes = (data[0] & 16) ? 7 : 0;
    const uint8_t* rest = data + 1;
    const size_t n = size - 1;
    try {
        switch (data[0] & 7) {
            case 0: {
                const auto p = split_parts(rest, n, 5);
                parse_wsoleval(WsolevalTexts{p[0], p[1], p[2], p[3], p[4]}, "meta", "root", options);
                break;
            }
            case 1: {
                const auto p = split_parts(rest, n, 5);
                parse_cub(CubTexts{p[0], p[1], p[2], p[3], p[4]}, "root", CubSplit::All, options);
                break;
            }
            case 2: {
                const auto p = split_parts(rest, n, 2);
                parse_sat_cub_test(p[0], p[1], "list", "boxes", "root", options);
                break;
            }
            case 3: {
                const auto p = split_parts(rest, n, 1);
                parse_val_gt(p[0], "val_gt", "root", {}, options);
                break;
            }
            case 4: {
                const auto p = split_parts(rest, n, 1);
                parse_path_label_list(p[0], "list", "root", options);
                break;
            }
            default: {
                const auto p = split_parts(rest, n, 1);
                const ImagenetAnnotation a = parse_imagenet_xml(p[0], "xml");
                ilsvrc_val_record(a, {"n01", "n02", "n03"}, "val", (data[0] & 1) != 0, "xml");
                break;
            }
        }
    } catch (const wsol::Error&) {
        // Bad input, reported as it should be.
    }
    return 0;
}
