// Full-size DeiT-S parity with timm, on demand: a deit_small_patch16_224 with random weights in DeiT's
// own checkpoint container ({"model": state_dict}, torch.save zip), read by the .pth reader, loaded
// strictly by name into models::VisionTransformer (what train::load_model does for a public DeiT
// file), and timm's logits for the same input. The data is 88 MB, so it is not a committed fixture:
//     /opt/refenv/bin/python tools/reference/deit_s_parity.py /tmp/deit_s_parity
//     WSOL_DEIT_S_PARITY=/tmp/deit_s_parity build/cpu/tests/test_models --gtest_filter='DeiTSmall.*'
// Without WSOL_DEIT_S_PARITY the test is reported as skipped.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/pth.h"
#include "models/vit/vit.h"
#include "support/testing.h"

namespace wsol {
namespace {

TEST(DeiTSmall, FullSizeLogitsMatchTimm) {
    const char* dir = std::getenv("WSOL_DEIT_S_PARITY");
    if (dir == nullptr || *dir == '\0') {
        GTEST_SKIP() << "set WSOL_DEIT_S_PARITY to a folder written by "
                        "`/opt/refenv/bin/python tools/reference/deit_s_parity.py DIR` to run this check";
    }
    const std::string root = dir;
    models::VisionTransformer vit(models::ViTConfig::deit_small(), 1);
    // pth_state_dict unwraps {"model": ...}; load_state_dict is strict: every timm key maps to ours.
    const nn::LoadReport report = vit.load_state_dict(load_pth_state_dict(root + "/deit_s.pth"));
    ASSERT_TRUE(report.ok()) << report.str();
    vit.eval();

    const TensorFile fx = load_safetensors(root + "/deit_s_parity.safetensors");
    const Tensor expected = fx.at("logits");
    NoGradGuard no_grad;
    const Tensor logits = vit.forward(fx.at("input"));
    ASSERT_EQ(logits.shape(), expected.shape());

    const std::vector<double> ours = logits.to_vector<double>(), timm = expected.to_vector<double>();
    double max_diff = 0.0, max_logit = 0.0;
    for (size_t i = 0; i < ours.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(ours[i] - timm[i]));
        max_logit = std::max(max_logit, std::fabs(timm[i]));
    }
    std::printf("DeiT-S (2, 3, 224, 224): max |logit - timm| = %.3g (max |logit| %.3g)\n", max_diff, max_logit);
    RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
    EXPECT_LT(max_diff, 1e-3);
    // Same predictions too (the logits are O(1) with these weights, so this is not vacuous).
    EXPECT_EQ(argmax(logits, 1).to_vector<int64_t>(), argmax(expected, 1).to_vector<int64_t>());
}

}  // namespace
}  // namespace wsol
