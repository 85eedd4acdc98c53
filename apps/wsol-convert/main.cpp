// wsol-convert: lists PyTorch checkpoints and safetensors files, and converts checkpoints to
// plain safetensors.
//
//   wsol-convert --list FILE                      keys, dtypes, shapes and other entries of FILE
//   wsol-convert FILE OUT.safetensors --method sat [--arch deit_small_patch16_224] [--heads N]
//                                                 a wsol checkpoint: keys mapped to the model (the
//                                                 {"model": ...} wrapper and "module." removed), loaded
//                                                 strictly, metadata recording method, architecture,
//                                                 classes and preprocessing. The architecture is read
//                                                 off the tensors (DeiT-T/S/B or a custom ViT); only a
//                                                 custom width that is no multiple of 64 needs --heads
//   wsol-convert OURS.safetensors OUT.safetensors --export-timm
//                                                 our checkpoint back to a plain state dict under the
//                                                 seed's names: a vit model loads into timm strictly;
//                                                 a sat model is SAT's released layout without "module."
//   wsol-convert FILE OUT.safetensors --raw       the state dict, keys unchanged
//        [--strip-prefix module.]                 ... without a key prefix (DataParallel's)
//
// FILE is a .pth/.pt/.bin/.pth.tar in any container torch.save has written (zip, legacy stream,
// tar) or a safetensors file; the kind is read from the content. The output is written atomically.
// Exit status: 0 done, 2 usage error, 1 failure (one line on stderr naming the file and problem).
#include <CLI/CLI.hpp>
#include <iostream>

#include "checkpoint_file.h"
#include "nn/checkpoint.h"
#include "train/inference.h"

int main(int argc, char** argv) {
    CLI::App app{"List PyTorch/safetensors checkpoints and convert them to safetensors", "wsol-convert"};
    std::string list_path, input, output, strip_prefix;
    bool raw = false, export_timm = false;
    wsol::train::LoadOptions load;
    app.add_option("--list", list_path, "print the container, every tensor's name, dtype and shape, and the other "
                                        "entries of FILE")->option_text("FILE");
    app.add_option("input", input, "checkpoint to convert (.pth in any container, or .safetensors)");
    app.add_option("output", output, "safetensors file to write");
    app.add_flag("--raw", raw, "keep the state dict's keys as they are (no model key map)");
    app.add_option("--strip-prefix", strip_prefix, "remove this prefix from keys that have it, e.g. 'module.'");
    app.add_option("--method", load.method, "convert to a wsol checkpoint of this method (sat, vit)");
    app.add_option("--arch", load.architecture, "architecture of a public checkpoint (default: read off its tensors)");
    app.add_option("--heads", load.num_heads, "attention heads of a public checkpoint of a custom width (default: width/64)");
    app.add_option("--image-size", load.image_size, "input size the model was trained at (default: from its position embedding)");
    app.add_flag("--export-timm", export_timm, "write a wsol checkpoint's model as a plain state dict (timm names)");
    try {
        app.parse(argc, argv);
        if (!list_path.empty() && (!input.empty() || !output.empty())) {
            throw CLI::ValidationError("--list takes one FILE and no other arguments");
        }
        if (list_path.empty()) {
            if (input.empty() || output.empty()) {
                throw CLI::ValidationError("need --list FILE, or FILE OUT.safetensors with --method, --export-timm or --raw");
            }
            if (int(raw) + int(export_timm) + int(!load.method.empty()) != 1) {
                throw CLI::ValidationError("choose exactly one of --method NAME, --export-timm and --raw");
            }
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
        if (!load.method.empty()) {
            const wsol::train::LoadedModel model = wsol::train::load_model(input, load);
            wsol::train::save_model(output, model);
            std::cout << "wrote " << output << ": " << model.method->describe().dump() << " ("
                      << model.method->model().num_parameters() << " parameters) from " << input << "\n";
            return 0;
        }
        if (export_timm) {
            const wsol::nn::Checkpoint ckpt = wsol::nn::load_checkpoint(input);
            wsol::save_safetensors(output, ckpt.model, {{"format", "pt"}});
            const std::string method = ckpt.meta.contains("model") ? ckpt.meta["model"].value("method", "") : "";
            std::cout << "wrote " << output << ": " << ckpt.model.size() << " tensors from " << input;
            if (method == "vit") {
                std::cout << " (timm's names: timm's VisionTransformer loads it strictly)\n";
            } else {
                // A WSOL model is its backbone plus the method's own tensors, under the seed's names.
                std::cout << " (the " << (method.empty() ? "model" : method)
                          << " seed's names: timm's DeiT takes the backbone with strict=False; the method's own "
                             "tensors, e.g. SAT's loc_token, loc_embed, weight and conv head, are not timm's)\n";
            }
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
