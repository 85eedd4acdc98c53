// wsol-convert as a user runs it: the built binary on the checkpoint fixtures, checking its output,
// exit status (0 ok, 2 usage, 1 failure with one line on stderr) and the files it writes.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "engine/file_util.h"
#include "engine/pth.h"
#include "nn/checkpoint.h"
#include "ops/ops.h"
#include "train/inference.h"
#include "support/command.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::fixture_path;

using testing::CommandResult;

CommandResult run(const std::string& args) { return testing::run_app("wsol-convert", args); }

// The output line that starts with `prefix` ("" when none), with runs of spaces collapsed to one.
std::string line_starting(const std::string& out, const std::string& prefix) {
    size_t at = out.rfind("\n" + prefix);
    if (at == std::string::npos) return "";
    const std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    std::string collapsed;
    for (char c : line) {
        if (c != ' ' || collapsed.empty() || collapsed.back() != ' ') collapsed += c;
    }
    return collapsed;
}

std::string ckpt(const std::string& name) { return fixture_path("checkpoints/" + name); }

std::string temp_path(const std::string& name) {
    return std::string(::testing::TempDir()) + "wsol_convert_" + std::to_string(::getpid()) + "_" + name;
}

TEST(WsolConvert, ListsEveryContainer) {
    CommandResult r = run("--list " + ckpt("vit_zip.pth"));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("PyTorch zip"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("model.cls_token"), std::string::npos);
    EXPECT_EQ(line_starting(r.out, "model.blocks.1.attn.qkv.weight"), "model.blocks.1.attn.qkv.weight float32 (24,8)");
    EXPECT_NE(r.out.find("32 tensors"), std::string::npos);

    r = run("--list " + ckpt("sat_legacy.pth"));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("legacy stream"), std::string::npos);
    EXPECT_NE(r.out.find("model.module.head.bias"), std::string::npos);
    EXPECT_NE(r.out.find("\nbest_thr: 0.4\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nepoch: 30\n"), std::string::npos);

    r = run("--list " + ckpt("resnet_tar_py2.pth"));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("PyTorch tar"), std::string::npos);
    EXPECT_NE(r.out.find("conv1.weight"), std::string::npos);

    r = run("--list " + ckpt("views_zip.pth"));
    EXPECT_EQ(line_starting(r.out, "state_dict.num_batches_tracked"), "state_dict.num_batches_tracked int64 ()");
    EXPECT_EQ(line_starting(r.out, "state_dict.half"), "state_dict.half float16 (2,3)");
    EXPECT_NE(r.out.find("state_dict.bf16"), std::string::npos);

    r = run("--list " + ckpt("expected.safetensors"));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("container: safetensors"), std::string::npos);
}

TEST(WsolConvert, WritesTheStateDictAsSafetensors) {
    const std::string out = temp_path("sat.safetensors");
    CommandResult r = run(ckpt("sat_legacy.pth") + " " + out + " --raw --strip-prefix module.");
    ASSERT_EQ(r.status, 0) << r.out;
    const TensorFile written = load_safetensors(out);
    const NamedTensors sd = load_pth_state_dict(ckpt("sat_legacy.pth"));
    ASSERT_EQ(written.tensors.size(), sd.size());
    for (const auto& [name, tensor] : sd) {
        ASSERT_EQ(name.rfind("module.", 0), 0u);
        const Tensor& w = written.at(name.substr(7));
        EXPECT_TRUE(testing::all_close(w, tensor, 0.0, 1e-30)) << name;
    }
    EXPECT_EQ(written.metadata.at("format"), "pt");
    std::remove(out.c_str());

    // Without --strip-prefix the keys stay as they are; strided views come out packed.
    const std::string out2 = temp_path("views.safetensors");
    r = run(ckpt("views_legacy.pth") + " " + out2 + " --raw");
    ASSERT_EQ(r.status, 0) << r.out;
    const TensorFile views = load_safetensors(out2);
    const TensorFile expected = load_safetensors(ckpt("expected.safetensors"));
    EXPECT_TRUE(testing::all_close(views.at("window"), expected.at("views_legacy/window"), 0.0, 1e-30));
    EXPECT_TRUE(testing::all_close(views.at("weight_t"), expected.at("views_legacy/weight_t"), 0.0, 1e-30));
    std::remove(out2.c_str());
}

std::string model_fixture(const std::string& name) { return fixture_path("models/" + name); }

// A checkpoint laid out as SAT releases them (legacy stream, {"model": {"module." + key}}, the
// Gaussian kernel as "weight", conv head), from tools/reference/sat_reference.py: converted with
// --method sat, it is a wsol checkpoint whose model gives the PyTorch reference's logits and map.
TEST(WsolConvert, ReleasedSatCheckpointToOursAndBack) {
    const std::string ours = temp_path("sat_ours.safetensors");
    CommandResult r = run(model_fixture("sat_tiny_legacy.pth") + " " + ours + " --method sat --heads 2");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("\"method\":\"sat\""), std::string::npos) << r.out;
    const nn::Checkpoint ckpt = nn::load_checkpoint(ours);
    const nlohmann::json& d = ckpt.meta.at("model");
    EXPECT_EQ(d.at("architecture"), "custom");
    EXPECT_EQ(d.at("embed_dim"), 16);
    EXPECT_EQ(d.at("depth"), 4);
    EXPECT_EQ(d.at("num_heads"), 2);
    EXPECT_EQ(d.at("patch_size"), 8);
    EXPECT_EQ(d.at("image_size"), 32);
    EXPECT_EQ(d.at("num_classes"), 5);
    EXPECT_EQ(ckpt.meta.at("preprocessing").at("crop"), 32);

    const TensorFile fx = load_safetensors(model_fixture("sat_tiny.safetensors"));
    train::LoadedModel model = train::load_model(ours);
    NoGradGuard no_grad;
    const train::Prediction p = model.method->predict(fx.at("out.input"));
    EXPECT_TRUE(testing::all_close(p.logits, fx.at("out.logits"), 0.0, 1e-4));
    EXPECT_TRUE(testing::all_close(p.maps, fx.at("out.map"), 0.0, 1e-5));

    // --export-timm gives the state dict under the seed's own names: SAT's, without "module.".
    const std::string plain = temp_path("sat_plain.safetensors");
    r = run(ours + " " + plain + " --export-timm");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("strict=False"), std::string::npos) << r.out;  // says what timm can take of it
    const TensorFile exported = load_safetensors(plain);
    const NamedTensors released = load_pth_state_dict(model_fixture("sat_tiny_legacy.pth"));
    ASSERT_EQ(exported.tensors.size(), released.size());
    for (const auto& [name, t] : released) {
        EXPECT_TRUE(testing::all_close(exported.at(name.substr(7)), t, 0.0, 0.0)) << name;
    }
    // The width (16) is no multiple of 64: without --heads the head count is unknown.
    r = run(model_fixture("sat_tiny_legacy.pth") + " " + temp_path("never.safetensors") + " --method sat");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("give --heads"), std::string::npos) << r.out;
    std::remove(ours.c_str());
    std::remove(plain.c_str());
}

// timm's weights -> ours -> --export-timm: exactly timm's state dict again (names, shapes,
// values; tools/reference/vit_parity.py stored timm's own state_dict() under "model."), which is what
// timm's load_state_dict(strict=True) needs. tools/reference/export_timm_check.py loads such a file
// into timm and compares logits.
TEST(WsolConvert, ExportTimmGivesBackTimmsStateDict) {
    const std::string ours = temp_path("vit_ours.safetensors");
    CommandResult r = run(model_fixture("vit_tiny_zip.pth") + " " + ours + " --method vit --heads 2");
    ASSERT_EQ(r.status, 0) << r.out;
    const std::string plain = temp_path("vit_timm.safetensors");
    r = run(ours + " " + plain + " --export-timm");
    ASSERT_EQ(r.status, 0) << r.out;
    const TensorFile exported = load_safetensors(plain);
    const TensorFile fx = load_safetensors(model_fixture("vit_tiny.safetensors"));
    std::vector<std::string> timm_names, exported_names;
    for (const auto& [name, t] : fx.tensors) {
        if (name.rfind("model.", 0) != 0) continue;
        timm_names.push_back(name.substr(6));
        EXPECT_TRUE(testing::all_close(exported.at(name.substr(6)), t, 0.0, 0.0)) << name;
    }
    for (const auto& [name, t] : exported.tensors) exported_names.push_back(name);
    std::sort(timm_names.begin(), timm_names.end());  // safetensors files list their keys sorted
    std::sort(exported_names.begin(), exported_names.end());
    EXPECT_EQ(exported_names, timm_names);
    EXPECT_EQ(exported.metadata.at("format"), "pt");

    // Only a wsol checkpoint can be exported.
    r = run(model_fixture("vit_tiny_zip.pth") + " " + temp_path("never.safetensors") + " --export-timm");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("vit_tiny_zip.pth"), std::string::npos) << r.out;
    std::remove(ours.c_str());
    std::remove(plain.c_str());
}

TEST(WsolConvert, UsageErrorsExitWith2) {
    EXPECT_EQ(run("").status, 2);
    EXPECT_EQ(run("--bogus").status, 2);
    EXPECT_EQ(run("a.pth out.safetensors").status, 2);  // no key map chosen
    EXPECT_EQ(run("--list a.pth b.pth").status, 2);
    EXPECT_EQ(run("--help").status, 0);
}

TEST(WsolConvert, FailuresExitWith1AndOneLine) {
    const std::string out = temp_path("never.safetensors");
    CommandResult r = run(ckpt("bad_os_system.pth") + " " + out + " --raw");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("bad_os_system.pth"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("'os.system' is not allowed"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "more than one line: " << r.out;
    EXPECT_FALSE(file_exists(out));

    r = run("--list " + ckpt("bad_truncated_zip.pth"));
    EXPECT_EQ(r.status, 1);
    // A checkpoint without a state dict, and an output folder that does not exist.
    EXPECT_EQ(run(ckpt("views_zip.pth") + " /nonexistent/dir/x.safetensors --raw").status, 1);
    EXPECT_EQ(run("--list /nonexistent.pth").status, 1);
}

}  // namespace
}  // namespace wsol
