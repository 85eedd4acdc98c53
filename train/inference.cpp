#include "train/inference.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/decode.h"
#include "engine/file_util.h"
#include "eval/legacy.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "ops/ops.h"
#include "train/datasets.h"

namespace wsol::train {

namespace {

const Tensor* find(const NamedTensors& state, const std::string& name) {
    for (const auto& [key, t] : state) {
        if (key == name) return &t;
    }
    return nullptr;
}

// The description of a public checkpoint's model, read off its tensors: the embedding width
// (cls_token), the patch size (the patch embedding's kernel), the input size (the position embedding's
// patch grid, unless given), the depth (blocks.N), the MLP ratio (fc1) and the classes (head). A
// DeiT-T/S/B shape is named as such; any other is described as a custom ViT, with width/64 heads (the
// ViT convention) unless the caller gives the count, which no tensor records.
nlohmann::json describe_public(const NamedTensors& state, const LoadOptions& o, const std::string& path) {
    WSOL_CHECK(!o.method.empty(), path, ": a PyTorch checkpoint does not say which method it is; give --method (",
               [] {
                   std::string s;
                   for (const std::string& n : method_names()) s += (s.empty() ? "" : ", ") + n;
                   return s;
               }(),
               ")");
    const auto need = [&](const std::string& name, int64_t dims) -> const Tensor& {
        const Tensor* t = find(state, name);
        WSOL_CHECK(t != nullptr, path, ": no ", name, " to read the model's shape from (is it a ViT/DeiT checkpoint?)");
        WSOL_CHECK(t->dim() == dims, path, ": ", name, " has shape ", shape_str(t->shape()), ", expected ", dims,
                   " dimensions");
        return *t;
    };
    const int64_t dim = need("cls_token", 3).size(2);
    const Tensor& patch = need("patch_embed.proj.weight", 4);
    const int64_t patch_size = patch.size(2);
    WSOL_CHECK(patch.size(3) == patch_size && patch.size(0) == dim, path, ": patch_embed.proj.weight has shape ",
               shape_str(patch.shape()), ", not (", dim, ", 3, p, p)");
    const int64_t grid_tokens = need("pos_embed", 3).size(1) - 1;  // the class token, then the patch grid
    int64_t grid = 0;
    while ((grid + 1) * (grid + 1) <= grid_tokens) ++grid;
    WSOL_CHECK(grid > 0 && grid * grid == grid_tokens, path, ": pos_embed has ", grid_tokens + 1,
               " positions, not 1 + a square patch grid");
    int64_t depth = 0;
    while (find(state, "blocks." + std::to_string(depth) + ".norm1.weight") != nullptr) ++depth;
    WSOL_CHECK(depth > 0, path, ": no blocks.0.norm1.weight: not a ViT/DeiT state dict");
    const int64_t hidden = need("blocks.0.mlp.fc1.weight", 2).size(0);

    nlohmann::json d = {{"method", o.method}, {"image_size", o.image_size > 0 ? o.image_size : grid * patch_size}};
    std::string arch = o.description.value("architecture", o.architecture);
    const bool deit_shape = patch_size == 16 && depth == 12 && hidden == 4 * dim && (dim == 192 || dim == 384 || dim == 768);
    if (arch.empty()) {
        arch = !deit_shape ? "custom"
               : dim == 192 ? "deit_tiny_patch16_224"
               : dim == 384 ? "deit_small_patch16_224"
                            : "deit_base_patch16_224";
    }
    d["architecture"] = arch;
    if (arch == "custom") {
        const int64_t given = o.description.value("num_heads", o.num_heads);
        const int64_t heads = given > 0 ? given : dim / 64;
        WSOL_CHECK(given > 0 || dim % 64 == 0, path, ": width ", dim,
                   " is not a multiple of 64, so the number of attention heads is unknown; give --heads");
        WSOL_CHECK(heads > 0 && dim % heads == 0, path, ": ", heads, " attention heads do not divide the width ", dim);
        d["embed_dim"] = dim;
        d["depth"] = depth;
        d["num_heads"] = heads;
        d["patch_size"] = patch_size;
        d["mlp_ratio"] = double(hidden) / double(dim);
    }
    const Tensor* head = find(state, "head.weight");  // (C, D) linear, or SAT's (C, D, 3, 3) conv
    WSOL_CHECK(head != nullptr && head->dim() >= 2, path, ": no head.weight to read the number of classes from");
    d["num_classes"] = head->size(0);
    for (auto it = o.description.begin(); it != o.description.end(); ++it) d[it.key()] = it.value();
    return d;
}

}  // namespace

LoadedModel load_model(const std::string& path, const LoadOptions& o) {
    LoadedModel m;
    m.source = path;
    NamedTensors state;
    nlohmann::json description;
    if (nn::is_wsol_checkpoint(path)) {
        nn::Checkpoint ckpt = nn::load_checkpoint(path);
        m.meta = ckpt.meta;
        WSOL_CHECK(ckpt.meta.contains("model"), path, ": the checkpoint does not describe its model");
        description = ckpt.meta["model"];
        WSOL_CHECK(o.method.empty() || description.value("method", "") == o.method, path, ": the checkpoint holds a ",
                   description.value("method", "?"), " model, not ", o.method);
        if (ckpt.meta.contains("preprocessing")) {
            m.resize = ckpt.meta["preprocessing"].value("resize", 256);
            m.crop = ckpt.meta["preprocessing"].value("crop", 224);
        }
        if (ckpt.meta.contains("class_names")) m.class_names = ckpt.meta["class_names"].get<std::vector<std::string>>();
        state = std::move(ckpt.model);
        m.how = "wsol checkpoint";
    } else {
        state = load_backbone_state(path);
        description = describe_public(state, o, path);
        m.how = "converted from a PyTorch/safetensors file";
    }
    m.method = make_method(description, 0);
    m.method->model().load_state_dict(state);  // strict: every key of the file and of the model must match
    m.method->model().to(Device::parse(o.device));
    m.method->model().eval();
    const int64_t image_size = m.method->describe().value("image_size", int64_t(224));
    if (!m.meta.contains("preprocessing")) {
        m.crop = int(image_size);
        m.resize = int(image_size * 256 / 224);
    }
    return m;
}

void save_model(const std::string& path, const LoadedModel& model) {
    nn::Checkpoint ckpt;
    ckpt.model = model.method->model().state_dict();
    ckpt.meta["model"] = model.method->describe();
    ckpt.meta["preprocessing"] = {{"resize", model.resize}, {"crop", model.crop}, {"mean", {0.485, 0.456, 0.406}},
                                  {"std", {0.229, 0.224, 0.225}}};
    if (!model.class_names.empty()) ckpt.meta["class_names"] = model.class_names;
    if (model.meta.contains("legacy_threshold")) ckpt.meta["legacy_threshold"] = model.meta["legacy_threshold"];
    ckpt.meta["converted_from"] = model.source;
    nn::save_checkpoint(path, ckpt);
}

Tensor load_input_image(const std::string& path, int resize, int crop, int* original_width, int* original_height) {
    data::DecodedImage decoded = data::load_image(path);
    const data::TransformSpec spec = data::TransformSpec::center_crop(resize, crop);
    std::vector<data::View> views = data::apply_transform(decoded, {}, spec, data::draw_augmentation(spec, {}));
    Tensor input = Tensor::empty({1, 3, crop, crop});
    data::Normalizer().write(views[0].image, false, input.data<float>());
    if (original_width) *original_width = decoded.source_width;
    if (original_height) *original_height = decoded.source_height;
    return input;
}


// ---- single-image prediction ---------------------------------------------------------------------

ImagePrediction predict_image(LoadedModel& model, const std::string& path, double threshold, int top) {
    ImagePrediction p;
    p.path = path;
    p.threshold = threshold;
    p.resize = model.resize;
    Tensor input = load_input_image(path, model.resize, model.crop, &p.width, &p.height);
    NoGradGuard no_grad;
    Method& method = *model.method;
    Prediction pred = method.predict(to(input, method.model().device()));
    Tensor probs = to(softmax(to(pred.logits, kCPU), 1), kFloat64);
    ValuesIndices best = topk(probs, std::min<int64_t>(top, probs.size(1)), 1);
    for (int64_t v : best.indices.to_vector<int64_t>()) p.top_classes.push_back(int(v));
    p.top_probabilities = best.values.to_vector<double>();

    Tensor raw = to(to(select(pred.maps, 0, 0), kCPU), kFloat64);
    eval::ScoreMap map = eval::legacy_prepare_map(eval::score_map_from_tensor(raw, path), model.crop);
    // legacy_box gives [x0, y0, x1 + 1, y1 + 1] on the crop (SAT's convention); store inclusive corners.
    const eval::Box b = eval::legacy_box(map, threshold);
    p.crop_box = {double(b.x0), double(b.y0), double(std::max(b.x0, b.x1 - 1)), double(std::max(b.y0, b.y1 - 1))};
    // Back through the centre crop (shift) and the resize (scale per axis).
    const double shift = (model.resize - model.crop) / 2.0;
    const double sx = double(p.width) / model.resize, sy = double(p.height) / model.resize;
    p.box = {std::floor((p.crop_box.x0 + shift) * sx), std::floor((p.crop_box.y0 + shift) * sy),
             std::min(double(p.width - 1), std::ceil((p.crop_box.x1 + 1 + shift) * sx) - 1),
             std::min(double(p.height - 1), std::ceil((p.crop_box.y1 + 1 + shift) * sy) - 1)};
    p.map = Tensor::empty({map.height, map.width});
    float* out = p.map.data<float>();
    for (size_t i = 0; i < map.values.size(); ++i) out[i] = float(map.values[i]);
    return p;
}

void write_prediction_overlay(const std::string& png_path, const ImagePrediction& p,
                              const std::vector<std::string>& class_names) {
    cv::Mat image = cv::imread(p.path, cv::IMREAD_COLOR);
    WSOL_CHECK(!image.empty(), p.path, ": OpenCV cannot read the image for the overlay");
    // The map covers the centre crop; spread it back over the region of the image that crop saw.
    const int crop = int(p.map.size(0));
    cv::Mat map(crop, crop, CV_32F, p.map.data<float>());
    cv::Mat map8, heat;
    map.convertTo(map8, CV_8U, 255.0);
    cv::applyColorMap(map8, heat, cv::COLORMAP_JET);
    const double resize = p.resize;
    const double sx = image.cols / resize, sy = image.rows / resize, shift = (resize - crop) / 2.0;
    const cv::Rect region(int(shift * sx), int(shift * sy), std::max(1, int(crop * sx)), std::max(1, int(crop * sy)));
    const cv::Rect clipped = region & cv::Rect(0, 0, image.cols, image.rows);
    cv::Mat heat_big;
    cv::resize(heat, heat_big, region.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat roi = image(clipped);
    cv::addWeighted(roi, 0.5, heat_big(cv::Rect(0, 0, clipped.width, clipped.height)), 0.5, 0.0, roi);
    cv::rectangle(image, {int(p.box.x0), int(p.box.y0)}, {int(p.box.x1), int(p.box.y1)}, {0, 0, 255},
                  std::max(2, image.cols / 200));
    if (!p.top_classes.empty()) {
        const int c = p.top_classes[0];
        const std::string name = c < int(class_names.size()) ? class_names[size_t(c)] : "class " + std::to_string(c);
        char text[256];
        std::snprintf(text, sizeof text, "%s %.1f%%", name.c_str(), 100.0 * p.top_probabilities[0]);
        cv::putText(image, text, {8, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, {0, 0, 0}, 4, cv::LINE_AA);
        cv::putText(image, text, {8, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, {255, 255, 255}, 2, cv::LINE_AA);
    }
    std::vector<uchar> png;
    WSOL_CHECK(cv::imencode(".png", image, png), png_path, ": PNG encoding failed");
    write_file_atomic(png_path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace wsol::train
