// wsol-convert: lists PyTorch checkpoints and safetensors files, and converts checkpoints to
// plain safetensors.
//
//   wsol-convert --list FILE                      keys, dtypes, shapes and other entries of FILE
//   wsol-convert FILE OUT.safetensors --raw       the state dict, keys unchanged
//        [--strip-prefix module.]                 ... without a key prefix (DataParallel's)
//
// FILE is a .pth/.pt/.bin/.pth.tar in any container torch.save has written (zip, legacy stream,
// tar) or a safetensors file; the kind is read from the content. The output is written atomically.
// Exit status: 0 done, 2 usage error, 1 failure (one line on stderr naming the file and problem).
// The model key maps (DeiT/SAT/ResNet-50 to wsol's models) will join --raw once the models exist.
#include <CLI/CLI.hpp>
#include <iostream>

#include "checkpoint_file.h"

int main(int argc, char** argv) {
    CLI::App app{"List PyTorch/safetensors checkpoints and convert them to safetensors", "wsol-convert"};
    std::string list_path, input, output, strip_prefix;
    bool raw = false;
    app.add_option("--list", list_path, "print the container, every tensor's name, dtype and shape, and the other "
                                        "entries of FILE")->option_text("FILE");
    app.add_option("input", input, "checkpoint to convert (.pth in any container, or .safetensors)");
    app.add_option("output", output, "safetensors file to write");
    app.add_flag("--raw", raw, "keep the state dict's keys as they are (no model key map)");
    app.add_option("--strip-prefix", strip_prefix, "remove this prefix from keys that have it, e.g. 'module.'");
    try {
        app.parse(argc, argv);
        if (!list_path.empty() && (!input.empty() || !output.empty())) {
            throw CLI::ValidationError("--list takes one FILE and no other arguments");
        }
        if (list_path.empty()) {
            if (input.empty() || output.empty()) throw CLI::ValidationError("need --list FILE, or FILE OUT.safetensors --raw");
            if (!raw) throw CLI::ValidationError("choose a key map: only --raw exists until the model key maps do");
        }
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        std::cerr << "wsol-convert: " << e.what() << " (see --help)\n";
        return 2;
    }

    using namespace wsol::convert;
    // One line on stderr, even when a message quotes a key with a newline in it.
    auto fail = [](std::string message) {
        for (size_t i = 0; (i = message.find('\n', i)) != std::string::npos;) message.replace(i, 1, "\\n");
        std::cerr << "wsol-convert: " << message << "\n";
        return 1;
    };
    try {
        if (!list_path.empty()) {
            list_checkpoint(read_checkpoint(list_path), std::cout);
            return 0;
        }
        const CheckpointFile file = read_checkpoint(input);
        const KeyMap map = strip_prefix.empty() ? identity_key_map() : strip_prefix_key_map(strip_prefix);
        const wsol::NamedTensors tensors = apply_key_map(checkpoint_tensors(file), map, input);
        wsol::save_safetensors(output, tensors, {{"format", "pt"}});
        std::cout << "wrote " << output << ": " << tensors.size() << " tensors from " << input << " (" << file.kind
                  << ")\n";
        return 0;
    } catch (const std::exception& e) {  // wsol::Error, or e.g. std::bad_alloc
        return fail(e.what());
    }
}
