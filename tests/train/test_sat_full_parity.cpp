// A released-SAT-style checkpoint at full size, on demand: SAT at DeiT-S size with 200 classes, saved
// as SAT's train.py saves best_loc.pth.tar (legacy stream, "module." keys, conv head, the Gaussian
// kernel as "weight"), loaded by train::load_model with --method sat and nothing else (the
// architecture is read off the tensors), against the PyTorch reference's logits and map. The file is
// 89 MB, so it is written on demand:
//     /opt/refenv/bin/python tools/reference/sat_full_parity.py /tmp/sat_parity
//     WSOL_SAT_PARITY=/tmp/sat_parity build/cpu/tests/test_train --gtest_filter='SATFullSize.*'
// Without WSOL_SAT_PARITY the test is reported as skipped. (The committed tiny fixture,
// sat_tiny_legacy.pth, runs the same path in CI: tests/apps/test_convert.cpp.)
#include <cstdio>
#include <cstdlib>

#include "ops/ops.h"
#include "support/testing.h"
#include "train/inference.h"

namespace wsol {
namespace {

TEST(SATFullSize, ReleasedLayoutMatchesReference) {
    const char* dir = std::getenv("WSOL_SAT_PARITY");
    if (dir == nullptr || *dir == '\0') {
        GTEST_SKIP() << "set WSOL_SAT_PARITY to a folder written by "
                        "`/opt/refenv/bin/python tools/reference/sat_full_parity.py DIR` to run this check";
    }
    const std::string root = dir;
    train::LoadOptions o;
    o.method = "sat";
    train::LoadedModel m = train::load_model(root + "/best_loc.pth.tar", o);
    const nlohmann::json d = m.method->describe();
    EXPECT_EQ(d.at("architecture"), "deit_small_patch16_224");
    EXPECT_EQ(d.at("num_classes"), 200);
    EXPECT_EQ(d.at("image_size"), 224);
    EXPECT_EQ(m.resize, 256);
    EXPECT_EQ(m.crop, 224);

    const TensorFile fx = load_safetensors(root + "/sat_parity.safetensors");
    NoGradGuard no_grad;
    const train::Prediction p = m.method->predict(fx.at("input"));
    const double logit_diff = amax(abs(sub(p.logits, fx.at("logits")))).item<double>();
    const double map_diff = amax(abs(sub(p.maps, fx.at("map")))).item<double>();
    std::printf("SAT DeiT-S/200 (2, 3, 224, 224): max |logit - reference| = %.3g, max |map - reference| = %.3g\n",
                logit_diff, map_diff);
    EXPECT_LT(logit_diff, 1e-3);
    EXPECT_LT(map_diff, 1e-5);
    EXPECT_EQ(argmax(p.logits, 1).to_vector<int64_t>(), argmax(fx.at("logits"), 1).to_vector<int64_t>());
}

}  // namespace
}  // namespace wsol
