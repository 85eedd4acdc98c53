// End to end on the GPU: a tiny ViT (image 32, patch 8, dim 32, depth 2) and the tiny SAT of
// tests/models/test_sat.cpp run forward and backward on the CPU and on the GPU from the same
// weights; logits, maps, every loss term and every parameter gradient agree. In float32 the GPU
// computes exactly what the CPU does up to rounding; under bf16 autocast (float32 master weights)
// within bf16's accuracy, with float32 gradients. A second GPU step gives the same bits
// (no atomics anywhere in the step).
#include "cuda/op_testing.h"
#include "models/sat/sat.h"
#include "models/vit/vit.h"

namespace wsol {
namespace {

using namespace testing;

models::ViTConfig tiny_vit() {
    models::ViTConfig c;
    c.name = "vit_tiny_gpu_test";
    c.image_size = 32;
    c.patch_size = 8;
    c.embed_dim = 32;
    c.depth = 2;
    c.num_heads = 2;
    c.num_classes = 10;
    return c;
}

models::SATConfig tiny_sat() {
    models::SATConfig c;
    c.vit.image_size = 32;
    c.vit.patch_size = 8;
    c.vit.embed_dim = 16;
    c.vit.depth = 4;
    c.vit.num_heads = 2;
    c.num_classes = 5;
    c.gated_blocks = 3;
    return c;
}

// Every parameter gradient of `gpu` against `cpu` (same names, same order), relative error.
void expect_gradients_match(const nn::Module& cpu, const nn::Module& gpu, double tolerance) {
    const NamedTensors pc = cpu.named_parameters(), pg = gpu.named_parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (size_t i = 0; i < pc.size(); ++i) {
        SCOPED_TRACE(pc[i].first);
        ASSERT_EQ(pc[i].first, pg[i].first);
        ASSERT_TRUE(pc[i].second.grad().defined());
        ASSERT_TRUE(pg[i].second.grad().defined());
        EXPECT_EQ(pg[i].second.grad().dtype(), kFloat32);  // master weights get float32 gradients
        EXPECT_TRUE(pg[i].second.grad().is_cuda());
        EXPECT_LT(relative_error(pg[i].second.grad(), pc[i].second.grad()), tolerance);
    }
}

void clear_gradients(nn::Module& m) {
    for (auto& [name, p] : m.named_parameters()) p.set_grad(Tensor());
}

const Tensor kLabels = Tensor::from_vector<int64_t>({3, 0, 9, 4}, {4});

TEST(CudaModels, TinyViTForwardBackwardMatchesTheCpu) {
    WSOL_REQUIRE_GPU();
    models::VisionTransformer cpu_model(tiny_vit(), 11), gpu_model(tiny_vit(), 11);
    gpu_model.to(kGPU);
    const Tensor images = random_input({4, 3, 32, 32}, kFloat32, 12, -2, 2);
    Tensor logits_c = cpu_model.forward(images);
    Tensor loss_c = cross_entropy(logits_c, kLabels, Reduction::Mean, 0.1);
    backward(loss_c);
    for (bool autocast : {false, true}) {
        SCOPED_TRACE(autocast ? "bf16 autocast" : "float32");
        clear_gradients(gpu_model);
        Tensor logits_g, loss_g;
        {
            AutocastGuard guard(autocast);
            logits_g = gpu_model.forward(to(images, kGPU));
            loss_g = cross_entropy(logits_g, to(kLabels, kGPU), Reduction::Mean, 0.1);
        }
        EXPECT_EQ(logits_g.dtype(), autocast ? kBFloat16 : kFloat32);
        EXPECT_EQ(loss_g.dtype(), kFloat32);
        backward(loss_g);
        const double tolerance = autocast ? 5e-2 : 1e-4;
        EXPECT_LT(relative_error(logits_g, logits_c), tolerance);
        EXPECT_NEAR(loss_g.item<double>(), loss_c.item<double>(), tolerance * std::fabs(loss_c.item<double>()));
        expect_gradients_match(cpu_model, gpu_model, autocast ? 1e-1 : 1e-4);
    }
}

struct SatStep {
    models::SATOutput out;
    models::SATLosses losses;
};

SatStep sat_step(models::SAT& model, const Tensor& images, const Tensor& labels, bool autocast) {
    SatStep s;
    {
        AutocastGuard guard(autocast);
        s.out = model.forward(images);
        s.losses = model.losses(s.out, labels);
    }
    backward(s.losses.total);
    return s;
}

TEST(CudaModels, TinySATForwardBackwardMatchesTheCpu) {
    WSOL_REQUIRE_GPU();
    models::SAT cpu_model(tiny_sat(), 21), gpu_model(tiny_sat(), 21);
    gpu_model.to(kGPU);
    const Tensor images = random_input({4, 3, 32, 32}, kFloat32, 22, -2, 2);
    const Tensor labels = Tensor::from_vector<int64_t>({1, 0, 4, 2}, {4});
    const SatStep c = sat_step(cpu_model, images, labels, false);
    for (bool autocast : {false, true}) {
        SCOPED_TRACE(autocast ? "bf16 autocast" : "float32");
        clear_gradients(gpu_model);
        const SatStep g = sat_step(gpu_model, to(images, kGPU), to(labels, kGPU), autocast);
        const double tolerance = autocast ? 5e-2 : 1e-4;
        EXPECT_LT(relative_error(g.out.logits, c.out.logits), tolerance);
        EXPECT_LT(relative_error(g.out.map, c.out.map), tolerance);
        for (size_t l = 0; l < c.out.block_maps.size(); ++l) {
            EXPECT_LT(relative_error(g.out.block_maps[l], c.out.block_maps[l]), tolerance) << "block " << l;
        }
        for (auto [gl, cl] : {std::pair{g.losses.cls, c.losses.cls}, std::pair{g.losses.batch_area, c.losses.batch_area},
                              std::pair{g.losses.norm, c.losses.norm}, std::pair{g.losses.total, c.losses.total}}) {
            EXPECT_EQ(gl.dtype(), kFloat32);
            EXPECT_NEAR(gl.item<double>(), cl.item<double>(), tolerance * std::max(1e-3, std::fabs(cl.item<double>())));
        }
        expect_gradients_match(cpu_model, gpu_model, autocast ? 1e-1 : 1e-4);
    }
}

TEST(CudaModels, AGpuTrainingStepIsDeterministic) {
    WSOL_REQUIRE_GPU();
    models::SAT model(tiny_sat(), 31);
    model.to(kGPU);
    const Tensor images = random_input({4, 3, 32, 32}, kFloat32, 32, -2, 2, kGPU);
    const Tensor labels = to(Tensor::from_vector<int64_t>({1, 0, 4, 2}, {4}), kGPU);
    for (bool autocast : {false, true}) {
        SCOPED_TRACE(autocast ? "bf16 autocast" : "float32");
        clear_gradients(model);
        sat_step(model, images, labels, autocast);
        NamedTensors first;
        for (auto& [name, p] : model.named_parameters()) first.emplace_back(name, clone(p.grad()));
        clear_gradients(model);
        sat_step(model, images, labels, autocast);
        const NamedTensors params = model.named_parameters();
        for (size_t i = 0; i < params.size(); ++i) {
            EXPECT_TRUE(same_bits(params[i].second.grad(), first[i].second)) << params[i].first;
        }
    }
}

}  // namespace
}  // namespace wsol
