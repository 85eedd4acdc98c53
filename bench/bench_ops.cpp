// Memory bandwidth of the CPU elementwise and row kernels, against memcpy measured in this same
// program: 32M float32 elements per operand (128 MiB), bytes moved = bytes read + bytes written.
//
//   memcpy      read 1, write 1 stream (split across the OpenMP threads, like the kernels)
//   add         a + b: read 2, write 1
//   gelu        exact (erf) GELU: read 1, write 1
//   gelu_mlp    GELU forward (read 1, write 1) and backward (grad_x = grad_y * gelu'(x): read 2,
//               write 1) on the hidden layer of a DeiT-S MLP at batch 8, (8*197, 1536) = 2.4M
//               floats (9.7 MB per operand); /0 the exact form, /1 the tanh form
//   softmax     rows of 1024: read 1, write 1
//   layer_norm  rows of 384 with weight and bias: read 1, write 1 (+ mean/rstd, 1/192 of that)
//
// Each op is timed twice: `kernel` calls the CPU kernel on preallocated outputs (the number to
// compare with memcpy), `op` calls the public function, which also allocates its output; a fresh
// 128 MiB block comes from mmap and its first touch costs page faults, which memcpy into a warm
// buffer does not pay. Counters: GB/s (1e9 bytes per second) and vs_memcpy, the ratio of that to
// memcpy's GB/s (1.0 = as fast per byte as memcpy).
//
// Run: OMP_NUM_THREADS=2 build/cpu/bin/bench_ops
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>

#include "engine/strided_loop.h"
#include "ops/cpu/elementwise.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/softmax.h"
#include "ops/ops.h"

namespace wsol {
namespace {

constexpr int64_t kElements = int64_t(32) << 20;
constexpr double kStream = double(kElements) * sizeof(float);  // bytes per operand
double g_memcpy_gbs = 0.0;                                     // set by BM_Memcpy, which runs first

Tensor random_input(const Shape& shape, uint64_t seed) {
    Generator gen(seed);
    return rand_uniform(shape, gen, -3.0, 3.0);
}

// Times the loop body in wall-clock time and reports GB/s and the ratio to memcpy.
template <class F>
void run_timed(benchmark::State& state, double bytes_per_iteration, F&& body) {
    body();  // warm up: page in outputs, spin up the thread pool
    const auto start = std::chrono::steady_clock::now();
    int64_t iterations = 0;
    for (auto _ : state) {
        body();
        benchmark::ClobberMemory();
        ++iterations;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double gbs = bytes_per_iteration * double(iterations) / seconds / 1e9;
    state.SetBytesProcessed(int64_t(bytes_per_iteration) * iterations);
    state.counters["GB/s"] = gbs;
    if (g_memcpy_gbs > 0.0) state.counters["vs_memcpy"] = gbs / g_memcpy_gbs;
}

void BM_Memcpy(benchmark::State& state) {
    Tensor src = random_input({kElements}, 1), dst = Tensor::empty({kElements});
    const char* s = static_cast<const char*>(src.raw_data());
    char* d = static_cast<char*>(dst.raw_data());
    const int64_t bytes = kElements * int64_t(sizeof(float));
    run_timed(state, 2 * kStream, [&] {
#pragma omp parallel
        {
            // One contiguous piece per thread, as the kernels split their work.
            const int64_t threads = parallel_thread_count(), id = parallel_thread_id();
            const int64_t begin = bytes * id / threads, end = bytes * (id + 1) / threads;
            std::memcpy(d + begin, s + begin, size_t(end - begin));
        }
    });
    g_memcpy_gbs = state.counters["GB/s"];
}

void BM_AddKernel(benchmark::State& state) {
    Tensor a = random_input({kElements}, 1), b = random_input({kElements}, 2), out = Tensor::empty({kElements});
    run_timed(state, 3 * kStream, [&] { cpu::binary(BinaryOp::Add, out, a, b); });
}
void BM_AddOp(benchmark::State& state) {
    Tensor a = random_input({kElements}, 1), b = random_input({kElements}, 2);
    run_timed(state, 3 * kStream, [&] { benchmark::DoNotOptimize(add(a, b)); });
}

void BM_GeluKernel(benchmark::State& state) {
    Tensor x = random_input({kElements}, 3), out = Tensor::empty({kElements});
    run_timed(state, 2 * kStream, [&] { cpu::unary(UnaryOp::Gelu, out, x); });
}
void BM_GeluOp(benchmark::State& state) {
    Tensor x = random_input({kElements}, 3);
    run_timed(state, 2 * kStream, [&] { benchmark::DoNotOptimize(gelu(x)); });
}

const Shape kMlpHidden{8 * 197, 1536};
const double kMlpStream = double(8 * 197 * 1536) * sizeof(float);
UnaryOp gelu_form(const benchmark::State& state) { return state.range(0) == 0 ? UnaryOp::Gelu : UnaryOp::GeluTanh; }
void BM_GeluMlpForward(benchmark::State& state) {
    Tensor x = random_input(kMlpHidden, 8), out = Tensor::empty(kMlpHidden);
    run_timed(state, 2 * kMlpStream, [&] { cpu::unary(gelu_form(state), out, x); });
}
void BM_GeluMlpBackward(benchmark::State& state) {
    Tensor x = random_input(kMlpHidden, 8), grad_y = random_input(kMlpHidden, 9), grad_x = Tensor::empty(kMlpHidden);
    run_timed(state, 3 * kMlpStream, [&] { cpu::unary_grad(gelu_form(state), grad_x, grad_y, x, Tensor()); });
}

constexpr int64_t kSoftmaxRow = 1024;
void BM_SoftmaxKernel(benchmark::State& state) {
    const Shape shape{kElements / kSoftmaxRow, kSoftmaxRow};
    Tensor x = random_input(shape, 4), out = Tensor::empty(shape);
    run_timed(state, 2 * kStream, [&] { cpu::softmax(out, x, 1, false); });
}
void BM_SoftmaxOp(benchmark::State& state) {
    Tensor x = random_input({kElements / kSoftmaxRow, kSoftmaxRow}, 4);
    run_timed(state, 2 * kStream, [&] { benchmark::DoNotOptimize(softmax(x, -1)); });
}

constexpr int64_t kLayerNormRow = 384;
const int64_t kLayerNormRows = kElements / kLayerNormRow;  // 87381 rows (the last 128 elements unused)
void BM_LayerNormKernel(benchmark::State& state) {
    const Shape shape{kLayerNormRows, kLayerNormRow};
    Tensor x = random_input(shape, 5), w = random_input({kLayerNormRow}, 6), b = random_input({kLayerNormRow}, 7);
    Tensor out = Tensor::empty(shape), mean = Tensor::empty({kLayerNormRows}), rstd = Tensor::empty({kLayerNormRows});
    const double bytes = 2.0 * double(kLayerNormRows * kLayerNormRow) * sizeof(float);
    run_timed(state, bytes, [&] { cpu::layer_norm(out, mean, rstd, x, w, b, 1e-6); });
}
void BM_LayerNormOp(benchmark::State& state) {
    Tensor x = random_input({kLayerNormRows, kLayerNormRow}, 5);
    Tensor w = random_input({kLayerNormRow}, 6), b = random_input({kLayerNormRow}, 7);
    const double bytes = 2.0 * double(kLayerNormRows * kLayerNormRow) * sizeof(float);
    run_timed(state, bytes, [&] { benchmark::DoNotOptimize(layer_norm(x, {kLayerNormRow}, w, b, 1e-6)); });
}

// Registration order is run order: memcpy first, so the others can report their ratio to it.
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AddKernel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AddOp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GeluKernel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GeluOp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GeluMlpForward)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_GeluMlpBackward)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SoftmaxKernel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SoftmaxOp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LayerNormKernel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LayerNormOp)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace wsol

BENCHMARK_MAIN();
