// Whole models on the CPU, float32, at DeiT-S size (ViT-S/16: D 384, 6 heads, MLP 4x, 12 blocks):
//
//   block/forward             one timm-style pre-norm Block (nn::TransformerBlock, qkv bias, LayerNorm
//                             eps 1e-6, exact GELU) on (8, 197, 384) tokens, without autograd
//   block/forward_backward    the same with autograd: forward, then backward from a fixed random
//                             upstream gradient into the input and the block's 12 parameters
//   deit_s/inference/{1,64}   models::VisionTransformer (deit_small, 1000 classes, random init) in
//                             eval mode under NoGradGuard on 224x224 images; images/s
//   sat_s/train_step/32       one SAT training step on DeiT-S (200 classes, CUB): forward, the three
//                             losses, backward, AdamW (weight decay 0.05, none for biases, norms and
//                             the tokens, as the trainer does); images/s
//
// Every case runs its work once untimed first (thread pool, first-touch page faults, AdamW's
// moments), then a fixed number of timed iterations; bench/compare/models.py does exactly the same
// in PyTorch. Weights and inputs come from fixed seeds (the two programs draw different numbers;
// the timings do not depend on them). Times are wall-clock (UseRealTime): the work is spread over
// OpenMP threads, and the main thread's CPU time would not count the others.
//
// Run: OMP_NUM_THREADS=2 build/cpu/bin/bench_models
// PyTorch side by side, with the ratios (runs this program first):
//      /opt/refenv/bin/python bench/compare/models.py --threads 2 --bench build/cpu/bin/bench_models
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "models/sat/sat.h"
#include "models/vit/vit.h"
#include "nn/optim.h"
#include "ops/ops.h"

namespace wsol {
namespace {

constexpr uint64_t kSeed = 0;
constexpr int64_t kDim = 384, kHeads = 6, kTokens = 197;

Tensor random_normal(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    return rand_normal(shape, gen);
}

// Runs `body` once untimed, then once per benchmark iteration.
template <class F>
void run_warm(benchmark::State& state, F&& body) {
    body();
    for (auto _ : state) {
        body();
        benchmark::ClobberMemory();
    }
}

void set_images_per_second(benchmark::State& state, int64_t batch) {
    state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// ---- one transformer block -----------------------------------------------------------------------

// A DeiT-S block initialised as timm does (trunc-normal 0.02 Linear weights, zero biases, unit norms).
std::shared_ptr<nn::TransformerBlock> deit_s_block() {
    Generator init_gen(kSeed);
    auto block = std::make_shared<nn::TransformerBlock>(kDim, kHeads, 4.0, /*qkv_bias=*/true, /*drop_path=*/0.0,
                                                        /*eps=*/1e-6, init_gen, std::make_shared<Generator>(kSeed));
    models::init_vit_weights(*block, init_gen);
    return block;
}

void block_forward(benchmark::State& state) {
    const int64_t batch = state.range(0);
    std::shared_ptr<nn::TransformerBlock> block = deit_s_block();
    const Tensor x = random_normal({batch, kTokens, kDim}, 1);
    NoGradGuard no_grad;
    run_warm(state, [&] { benchmark::DoNotOptimize(block->forward(x).x.raw_data()); });
}

void block_forward_backward(benchmark::State& state) {
    const int64_t batch = state.range(0);
    std::shared_ptr<nn::TransformerBlock> block = deit_s_block();
    Tensor x = random_normal({batch, kTokens, kDim}, 1).set_requires_grad(true);
    const Tensor upstream = random_normal({batch, kTokens, kDim}, 2);
    run_warm(state, [&] {
        block->zero_grad();  // gradients are replaced, not accumulated, as with set_to_none in PyTorch
        x.set_grad(Tensor());
        backward(block->forward(x).x, upstream);
        benchmark::DoNotOptimize(x.grad().raw_data());
    });
}

// ---- DeiT-S inference ----------------------------------------------------------------------------

void deit_s_inference(benchmark::State& state) {
    const int64_t batch = state.range(0);
    models::VisionTransformer model(models::ViTConfig::deit_small(), kSeed);
    model.eval();
    const Tensor images = random_normal({batch, 3, 224, 224}, 3);
    NoGradGuard no_grad;
    run_warm(state, [&] { benchmark::DoNotOptimize(model.forward(images).raw_data()); });
    set_images_per_second(state, batch);
}

// ---- one SAT training step -----------------------------------------------------------------------

void sat_train_step(benchmark::State& state) {
    const int64_t batch = state.range(0);
    models::SAT model(models::SATConfig{}, kSeed);  // DeiT-S backbone, 200 classes
    model.train();
    // train/trainer.cpp's groups with method_sat.cpp's no-decay names; lr 5e-4 * batch / 512 (DeiT).
    nn::AdamW optimizer(nn::make_param_groups(model.named_parameters(), 5e-4 * double(batch) / 512.0, 0.05,
                                              {"pos_embed", "cls_token", "loc_embed", "loc_token"}));
    const Tensor images = random_normal({batch, 3, 224, 224}, 4);
    Generator label_gen(5);
    const Tensor labels = to(rand_uniform({batch}, label_gen, 0.0, 199.5, kFloat64), kInt64);
    run_warm(state, [&] {
        optimizer.zero_grad();
        const models::SATLosses losses = model.losses(model.forward(images), labels);
        backward(losses.total);
        optimizer.step();
    });
    set_images_per_second(state, batch);
}

// Iteration counts are fixed (and repeated in bench/compare/models.py): batch 64 inference and the
// training step take seconds per iteration on two cores.
void register_all() {
    auto reg = [](const std::string& name, auto fn, int64_t batch, int64_t iterations) {
        benchmark::RegisterBenchmark(name.c_str(), fn)
            ->Arg(batch)
            ->Iterations(iterations)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    };
    reg("block/forward", block_forward, 8, 10);
    reg("block/forward_backward", block_forward_backward, 8, 10);
    reg("deit_s/inference", deit_s_inference, 1, 10);
    reg("deit_s/inference", deit_s_inference, 64, 2);
    reg("sat_s/train_step", sat_train_step, 32, 2);
}

}  // namespace
}  // namespace wsol

int main(int argc, char** argv) {
    wsol::set_num_threads(wsol::num_threads());  // OMP_NUM_THREADS for OpenMP, OpenBLAS on one thread
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("threads", std::to_string(wsol::num_threads()));
    wsol::register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
