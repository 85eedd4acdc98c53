// GEMM-bound ops through the engine against OpenBLAS called directly, in one program.
//
// Each "engine/<case>" benchmark has a "blas/<case>" twin doing the same floating-point work with
// one or more plain cblas_sgemm calls on contiguous, preallocated buffers, with OpenBLAS using
// its own thread pool at the same thread count (the engine instead splits GEMMs over OpenMP
// threads with single-threaded BLAS, see ops/cpu/blas.h). The reporter prints engine time / BLAS
// time per case at the end (1.00 = no overhead). Cases:
//   matmul_1024        (1024 x 1024) @ (1024 x 1024), float32
//   linear_qkv / fc1   ViT-S shapes: x (8*197, 384) W^T -> 1152 and -> 1536, with bias
//   attention_scores   batched q k^T: (48, 197, 64) @ (48, 64, 197) (8 images x 6 heads)
//   patch_embed        conv2d 3x224x224 -> 384, 16x16 stride 16, batch 8 (vs the GEMM it contains)
//   resnet_3x3         conv2d 64 -> 64, 3x3 pad 1, 56x56, batch 8 (vs its GEMMs, no im2col)
// plus the backward passes of linear and the convolutions (engine only, for reference).
// Threads: OMP_NUM_THREADS (both sides use that many threads). All engine cases run first, then
// the BLAS ones, so OpenBLAS's spinning pool threads cannot slow an engine case down.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "ops/ops.h"

namespace {

using namespace wsol;

Tensor random(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    return rand_uniform(shape, gen, -1.0, 1.0);
}

// Direct OpenBLAS at full thread count for the baselines; back to one thread (the engine's
// setting) afterwards.
struct BlasThreads {
    BlasThreads() { openblas_set_num_threads(num_threads()); }
    ~BlasThreads() { openblas_set_num_threads(1); }
};

void set_flops(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// ---- matmul 1024 -------------------------------------------------------------------------------

void engine_matmul_1024(benchmark::State& state) {
    Tensor a = random({1024, 1024}, 1), b = random({1024, 1024}, 2);
    for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
    set_flops(state, 2.0 * 1024 * 1024 * 1024);
}

void blas_matmul_1024(benchmark::State& state) {
    BlasThreads threads;
    std::vector<float> a(1024 * 1024, 0.5f), b(1024 * 1024, 0.25f), c(1024 * 1024);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1.0f, a.data(), 1024, b.data(), 1024,
                    0.0f, c.data(), 1024);
        benchmark::DoNotOptimize(c.data());
    }
    set_flops(state, 2.0 * 1024 * 1024 * 1024);
}

// ---- linear at ViT-S shapes --------------------------------------------------------------------

constexpr int kRows = 8 * 197, kDim = 384;

void engine_linear(benchmark::State& state) {
    const int out = int(state.range(0));
    Tensor x = random({8, 197, kDim}, 3), w = random({out, kDim}, 4), bias = random({out}, 5);
    for (auto _ : state) benchmark::DoNotOptimize(linear(x, w, bias).raw_data());
    set_flops(state, 2.0 * kRows * kDim * out);
}

void blas_linear(benchmark::State& state) {
    BlasThreads threads;
    const int out = int(state.range(0));
    std::vector<float> x(size_t(kRows) * kDim, 0.5f), w(size_t(out) * kDim, 0.25f), y(size_t(kRows) * out);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kRows, out, kDim, 1.0f, x.data(), kDim, w.data(), kDim,
                    0.0f, y.data(), out);
        benchmark::DoNotOptimize(y.data());
    }
    set_flops(state, 2.0 * kRows * kDim * out);
}

void engine_linear_backward(benchmark::State& state) {
    const int out = int(state.range(0));
    Tensor x = random({8, 197, kDim}, 3).set_requires_grad(true);
    Tensor w = random({out, kDim}, 4).set_requires_grad(true), bias = random({out}, 5).set_requires_grad(true);
    Tensor gy = random({8, 197, out}, 6);
    for (auto _ : state) {
        TensorList g = grad(linear(x, w, bias), {x, w, bias}, gy);
        benchmark::DoNotOptimize(g[0].raw_data());
    }
    set_flops(state, 2.0 * 2.0 * kRows * kDim * out);
}

// ---- attention scores: many medium products ----------------------------------------------------

void engine_attention(benchmark::State& state) {
    Tensor q = random({8, 6, 197, 64}, 7), k = random({8, 6, 197, 64}, 8);
    for (auto _ : state) benchmark::DoNotOptimize(matmul(q, transpose(k, -2, -1)).raw_data());
    set_flops(state, 2.0 * 48 * 197 * 197 * 64);
}

void blas_attention(benchmark::State& state) {
    BlasThreads threads;
    std::vector<float> q(48 * 197 * 64, 0.5f), k(48 * 197 * 64, 0.25f), s(48 * 197 * 197);
    for (auto _ : state) {
        for (int i = 0; i < 48; ++i) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 197, 197, 64, 1.0f, q.data() + i * 197 * 64, 64,
                        k.data() + i * 197 * 64, 64, 0.0f, s.data() + i * 197 * 197, 197);
        }
        benchmark::DoNotOptimize(s.data());
    }
    set_flops(state, 2.0 * 48 * 197 * 197 * 64);
}

// ---- convolutions ------------------------------------------------------------------------------

struct ConvCase {
    int batch, in_c, size, out_c, kernel, stride, pad;
    int out_size() const { return (size + 2 * pad - kernel) / stride + 1; }
    double flops() const { return 2.0 * batch * out_c * out_size() * out_size() * in_c * kernel * kernel; }
};
const ConvCase kPatch{8, 3, 224, 384, 16, 16, 0};
const ConvCase kResnet{8, 64, 56, 64, 3, 1, 1};

void engine_conv(benchmark::State& state, ConvCase c) {
    Tensor x = random({c.batch, c.in_c, c.size, c.size}, 9), w = random({c.out_c, c.in_c, c.kernel, c.kernel}, 10);
    Tensor b = random({c.out_c}, 11);
    for (auto _ : state) {
        benchmark::DoNotOptimize(conv2d(x, w, b, {c.stride, c.stride}, {c.pad, c.pad}).raw_data());
    }
    set_flops(state, c.flops());
}

// The GEMMs inside the convolution (one per image) on ready-made im2col matrices.
void blas_conv(benchmark::State& state, ConvCase c) {
    BlasThreads threads;
    const int patch = c.in_c * c.kernel * c.kernel, cols = c.out_size() * c.out_size();
    std::vector<float> w(size_t(c.out_c) * patch, 0.5f), col(size_t(patch) * cols, 0.25f), y(size_t(c.out_c) * cols);
    for (auto _ : state) {
        for (int n = 0; n < c.batch; ++n) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.out_c, cols, patch, 1.0f, w.data(), patch,
                        col.data(), cols, 0.0f, y.data(), cols);
        }
        benchmark::DoNotOptimize(y.data());
    }
    set_flops(state, c.flops());
}

void engine_conv_backward(benchmark::State& state, ConvCase c) {
    Tensor x = random({c.batch, c.in_c, c.size, c.size}, 9).set_requires_grad(true);
    Tensor w = random({c.out_c, c.in_c, c.kernel, c.kernel}, 10).set_requires_grad(true);
    Tensor gy = random({c.batch, c.out_c, c.out_size(), c.out_size()}, 12);
    for (auto _ : state) {
        TensorList g = grad(conv2d(x, w, Tensor(), {c.stride, c.stride}, {c.pad, c.pad}), {x, w}, gy);
        benchmark::DoNotOptimize(g[0].raw_data());
    }
    set_flops(state, 2.0 * c.flops());
}

// ---- registration and the ratio report ---------------------------------------------------------

void register_all() {
    auto reg = [](const std::string& name, auto fn) {
        return benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
    };
    reg("engine/matmul_1024", engine_matmul_1024);
    reg("engine/linear_qkv", engine_linear)->Arg(1152);
    reg("engine/linear_fc1", engine_linear)->Arg(1536);
    reg("engine/attention_scores", engine_attention);
    reg("engine/patch_embed", [](benchmark::State& s) { engine_conv(s, kPatch); });
    reg("engine/resnet_3x3", [](benchmark::State& s) { engine_conv(s, kResnet); });
    reg("backward/linear_qkv", engine_linear_backward)->Arg(1152);
    reg("backward/patch_embed", [](benchmark::State& s) { engine_conv_backward(s, kPatch); });
    reg("backward/resnet_3x3", [](benchmark::State& s) { engine_conv_backward(s, kResnet); });
    reg("blas/matmul_1024", blas_matmul_1024);
    reg("blas/linear_qkv", blas_linear)->Arg(1152);
    reg("blas/linear_fc1", blas_linear)->Arg(1536);
    reg("blas/attention_scores", blas_attention);
    reg("blas/patch_embed", [](benchmark::State& s) { blas_conv(s, kPatch); });
    reg("blas/resnet_3x3", [](benchmark::State& s) { blas_conv(s, kResnet); });
}

// Console output as usual, then "engine / blas" for every case measured both ways.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            // With --benchmark_repetitions the median stands for the case; otherwise the one run.
            const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
            if (run.run_type != Run::RT_Iteration && !median) continue;
            const std::string& name = run.run_name.function_name;  // "engine/linear_qkv"
            const size_t slash = name.find('/');
            if (slash == std::string::npos) continue;
            const std::string what =
                name.substr(slash + 1) + (run.run_name.args.empty() ? "" : "/" + run.run_name.args);
            double& slot = times_[what][name.substr(0, slash)];
            if (median || slot == 0.0) slot = run.GetAdjustedRealTime();
        }
    }
    void Finalize() override {
        ConsoleReporter::Finalize();
        std::printf("\nengine time / direct OpenBLAS time (%d threads):\n", num_threads());
        for (const auto& [what, kinds] : times_) {
            if (kinds.count("engine") && kinds.count("blas")) {
                std::printf("  %-28s %.3f\n", what.c_str(), kinds.at("engine") / kinds.at("blas"));
            }
        }
    }

private:
    std::map<std::string, std::map<std::string, double>> times_;
};

}  // namespace

int main(int argc, char** argv) {
    wsol::set_num_threads(wsol::num_threads());  // OMP_NUM_THREADS for OpenMP, OpenBLAS on one thread
    benchmark::Initialize(&argc, argv);
    register_all();
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
