// Loading a full-size DeiT-S checkpoint (22.05 M float32 parameters, ~88 MB) three ways: the
// PyTorch zip container and the legacy stream through load_pth, and safetensors through
// load_safetensors. Baselines in the same run: memcpy of the same number of bytes between warm
// buffers (memory bandwidth: a loader that copies the data once cannot beat it), and reading the
// file into a std::string (wsol::read_file, what the safetensors reader does first).
//
// Files: python tools/reference/make_deit_s.py DIR --format all   (not committed: 88 MB each)
// Run:   build/cpu/bin/bench_checkpoint [benchmark flags] DIR      (or WSOL_DEIT_S_DIR=DIR)
// PyTorch on the same files: python bench/compare/checkpoint_load.py DIR
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "engine/file_util.h"
#include "engine/pth.h"
#include "engine/safetensors.h"
#include "engine/storage.h"

namespace {

std::string g_dir;

std::string path(const char* name) { return g_dir + "/" + name; }

void set_bytes(benchmark::State& state, const std::string& file) {
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wsol::read_file(file).size()));
}

void BM_read_file(benchmark::State& state) {
    const std::string file = path("deit_s_zip.pth");
    for (auto _ : state) benchmark::DoNotOptimize(wsol::read_file(file));
    set_bytes(state, file);
}

void BM_memcpy(benchmark::State& state) {
    const size_t n = wsol::read_file(path("deit_s_zip.pth")).size();
    void* src = wsol::cpu_allocate(n);
    void* dst = wsol::cpu_allocate(n);
    std::memset(src, 1, n);  // fault both buffers in before timing
    std::memset(dst, 0, n);
    for (auto _ : state) {
        std::memcpy(dst, src, n);
        benchmark::DoNotOptimize(dst);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
    wsol::cpu_free(src);
    wsol::cpu_free(dst);
}

void BM_load_pth_zip(benchmark::State& state) {
    const std::string file = path("deit_s_zip.pth");
    for (auto _ : state) benchmark::DoNotOptimize(wsol::load_pth_state_dict(file));
    set_bytes(state, file);
}

void BM_load_pth_legacy(benchmark::State& state) {
    const std::string file = path("deit_s_legacy.pth");
    for (auto _ : state) benchmark::DoNotOptimize(wsol::load_pth_state_dict(file));
    set_bytes(state, file);
}

void BM_load_safetensors(benchmark::State& state) {
    const std::string file = path("deit_s.safetensors");
    for (auto _ : state) benchmark::DoNotOptimize(wsol::load_safetensors(file));
    set_bytes(state, file);
}

}  // namespace

// The minimum over repetitions is the least disturbed by other work on a shared machine
// (run with --benchmark_repetitions=N).
double minimum(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

#define WSOL_CHECKPOINT_BENCHMARK(fn) \
    BENCHMARK(fn)->Unit(benchmark::kMillisecond)->UseRealTime()->ComputeStatistics("min", minimum)

WSOL_CHECKPOINT_BENCHMARK(BM_read_file);
WSOL_CHECKPOINT_BENCHMARK(BM_memcpy);
WSOL_CHECKPOINT_BENCHMARK(BM_load_pth_zip);
WSOL_CHECKPOINT_BENCHMARK(BM_load_pth_legacy);
WSOL_CHECKPOINT_BENCHMARK(BM_load_safetensors);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (argc > 1) {
        g_dir = argv[1];
    } else if (const char* env = std::getenv("WSOL_DEIT_S_DIR")) {
        g_dir = env;
    }
    if (g_dir.empty() || !wsol::file_exists(path("deit_s_zip.pth"))) {
        std::cerr << "usage: bench_checkpoint [benchmark flags] DIR   (DIR from: python tools/reference/make_deit_s.py "
                     "DIR --format all)\n";
        return 2;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
