// GPU benchmarks of the CUDA backend, timed with CUDA events (manual time), each reporting a rate:
//   gemm/<mode>/<pass>/<K>x<N>   cuBLASLt GEMM at ViT-S training shapes, M = 256 * 197 tokens:
//                                fc/qkv/proj layers 384->1152, 384->1536, 1536->384; passes fwd
//                                (Y = X W^T), dgrad (dX = dY W), wgrad (dW = dY^T X); modes fp32,
//                                tf32, bf16 (bf16 operands and output, fp32 accumulation). TFLOP/s.
//   attention/bf16/{fwd,fwd+bwd}  the fused kernels at B=256, H=6, N=198, D=64, gated and not,
//                                tensor-core kernels (the default) and CUDA-core ones (/cuda-cores);
//                                TFLOP/s with FlashAttention's convention (fwd 4 B H N^2 D flops,
//                                bwd 2.5 times that).
//   memory/<op>                  elementwise and reduction kernels on 64 Mi elements, and the
//                                baselines they should approach: a device-to-device cudaMemcpy and
//                                wsol's own vectorised copy. GB/s counting bytes read + written.
//   step/{vit_s,sat_s}/bf16      one whole training step at batch 256, 224x224 images, under bf16
//                                autocast with float32 master weights: forward, loss (cross-entropy;
//                                SAT adds its two map losses), backward, fused AdamW. DeiT-S with
//                                1000 classes; SAT on DeiT-S with 200 classes (CUB). images/s.
// bench/compare/cuda_*.py time the same work with PyTorch on the same GPU; tools/gpu/run.sh runs
// both and prints the ratios. The program compiles in every build; without a GPU it prints a line
// and runs nothing.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/gpu.h"
#include "models/sat/sat.h"
#include "models/vit/vit.h"
#include "nn/optim.h"
#include "ops/ops.h"
#if WSOL_CUDA
#include "engine/cuda/check.h"
#include "engine/cuda/context.h"
#include "ops/cuda/attention.h"
#include "ops/cuda/elementwise.h"
#include "ops/cuda/gemm.h"
#include "ops/cuda/norm.h"
#include "ops/cuda/reduce.h"
#include "ops/cuda/softmax.h"
#endif

namespace wsol {
namespace {

#if WSOL_CUDA

const Device kGPU{DeviceType::CUDA, 0};

Tensor random_gpu(const Shape& shape, DType dtype, uint64_t seed) {
    Generator gen(seed);
    return rand_uniform(shape, gen, -1.0, 1.0, dtype, kGPU);  // never zeros (METHOD.md)
}

// Times `work` with CUDA events after one warm-up call; `amount` (flops or bytes) per call gives
// the counter `unit` as a rate.
void time_gpu(benchmark::State& state, const std::function<void()>& work, double amount, const char* unit) {
    work();
    cuda_synchronize();
    cuda::EventTimer timer(0);
    for (auto _ : state) {
        timer.start();
        work();
        state.SetIterationTime(double(timer.stop()) * 1e-3);
    }
    const std::string u = unit;
    const double scale = u == "TFLOP/s" ? 1e-12 : u == "GB/s" ? 1e-9 : 1.0;
    state.counters[unit] = benchmark::Counter(amount * scale, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- GEMM -----------------------------------------------------------------------------------------

struct GemmMode {
    const char* name;
    DType dtype;
    bool tf32;
};

void register_gemms() {
    const int64_t M = 256 * 197;
    const std::pair<int64_t, int64_t> layers[] = {{384, 1152}, {384, 1536}, {1536, 384}};  // (in K, out N)
    for (GemmMode mode : {GemmMode{"fp32", kFloat32, false}, GemmMode{"tf32", kFloat32, true},
                          GemmMode{"bf16", kBFloat16, false}}) {
        for (auto [K, N] : layers) {
            for (const char* pass : {"fwd", "dgrad", "wgrad"}) {
                const std::string name = std::string("gemm/") + mode.name + "/" + pass + "/" + std::to_string(K) + "x" +
                                         std::to_string(N);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
                    AllowTF32Guard tf32(mode.tf32);
                    const std::string p = pass;
                    Tensor x = random_gpu({M, K}, mode.dtype, 1), w = random_gpu({N, K}, mode.dtype, 2);
                    Tensor dy = random_gpu({M, N}, mode.dtype, 3);
                    Tensor out = Tensor::empty(p == "fwd" ? Shape{M, N} : p == "dgrad" ? Shape{M, K} : Shape{N, K},
                                               mode.dtype, kGPU);
                    cuda::GemmOptions o;
                    std::function<void()> work;
                    if (p == "fwd") {
                        o.transpose_b = true;  // Y = X W^T
                        work = [&] { cuda::gemm(out, x, w, o); };
                    } else if (p == "dgrad") {
                        work = [&] { cuda::gemm(out, dy, w, o); };  // dX = dY W
                    } else {
                        o.transpose_a = true;  // dW = dY^T X
                        work = [&] { cuda::gemm(out, dy, x, o); };
                    }
                    time_gpu(state, work, 2.0 * double(M) * double(N) * double(K), "TFLOP/s");
                })->UseManualTime()->Unit(benchmark::kMillisecond);
            }
        }
    }
}

// ---- attention --------------------------------------------------------------------------------------

void register_attention() {
    const int64_t B = 256, H = 6, N = 198, D = 64;
    const double fwd_flops = 4.0 * B * H * double(N) * N * D;
    struct Variant {
        bool tensor_cores, gated, with_backward;
    };
    std::vector<Variant> variants;
    for (bool tensor_cores : {true, false}) {
        for (bool gated : {false, true}) {
            for (bool with_backward : {false, true}) variants.push_back({tensor_cores, gated, with_backward});
        }
    }
    for (const Variant& v : variants) {
        const std::string name = std::string("attention/bf16/") + (v.with_backward ? "fwd+bwd" : "fwd") +
                                 (v.gated ? "/gated" : "") + (v.tensor_cores ? "" : "/cuda-cores");
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
            cuda::set_attention_tensor_cores(v.tensor_cores);
            // q, k, v as the head-split views of one fused qkv projection (B, N, 3, H, D).
            Tensor qkv = random_gpu({B, N, 3, H, D}, kBFloat16, 4);
            Tensor q = permute(select(qkv, 2, 0), {0, 2, 1, 3}), k = permute(select(qkv, 2, 1), {0, 2, 1, 3}),
                   val = permute(select(qkv, 2, 2), {0, 2, 1, 3});
            Tensor gate = v.gated ? random_gpu({B, N}, kBFloat16, 5) : Tensor();
            Tensor out = Tensor::empty({B, H, N, D}, kBFloat16, kGPU), lse = Tensor::empty({B, H, N}, kFloat32, kGPU);
            Tensor dout = random_gpu({B, H, N, D}, kBFloat16, 6);
            Tensor dq = Tensor::empty({B, H, N, D}, kBFloat16, kGPU), dk = empty_like(dq), dv = empty_like(dq);
            Tensor dgate = v.gated ? Tensor::empty({B, H, N}, kFloat32, kGPU) : Tensor();
            const double scale = 0.125;
            auto work = [&] {
                cuda::attention_forward(out, lse, q, k, val, gate, scale);
                if (v.with_backward) cuda::attention_backward(dq, dk, dv, dgate, dout, q, k, val, gate, out, lse, scale);
            };
            time_gpu(state, work, v.with_backward ? 3.5 * fwd_flops : fwd_flops, "TFLOP/s");
            cuda::set_attention_tensor_cores(true);
        })->UseManualTime()->Unit(benchmark::kMillisecond);
    }
}

// ---- memory-bound kernels ---------------------------------------------------------------------------

void register_memory() {
    const int64_t n = int64_t(1) << 26;  // 64 Mi elements: 256 MiB of float32, far beyond the L2
    struct Case {
        const char* name;
        double bytes;
        std::function<std::function<void()>()> make;  // builds tensors, returns the work
    };
    const double f = 4.0 * double(n);
    // The row kernels in either dtype (the LayerNorm statistics are float32 for both).
    const auto layer_norm_work = [n](DType dtype) {
        return [n, dtype] {
            const int64_t rows = n / 384;
            Tensor x = random_gpu({rows, 384}, dtype, 16), w = random_gpu({384}, dtype, 17),
                   b = random_gpu({384}, dtype, 18), y = Tensor::empty({rows, 384}, dtype, kGPU),
                   mean = Tensor::empty({rows}, kFloat32, kGPU), rstd = Tensor::empty({rows}, kFloat32, kGPU);
            return std::function<void()>([=] { cuda::layer_norm(y, mean, rstd, x, w, b, 1e-6); });
        };
    };
    const auto softmax_work = [n](DType dtype) {
        return [n, dtype] {
            Tensor x = random_gpu({n / 198, 198}, dtype, 21), y = Tensor::empty({n / 198, 198}, dtype, kGPU);
            return std::function<void()>([=] { cuda::softmax(y, x, 1, false); });
        };
    };
    const Case cases[] = {
        {"memory/memcpy_d2d_f32", 2 * f,
         [n] {
             Tensor a = random_gpu({n}, kFloat32, 7), b = Tensor::empty({n}, kFloat32, kGPU);
             return std::function<void()>([a, b, n] {
                 WSOL_CUDA_CHECK(cudaMemcpyAsync(b.raw_data(), a.raw_data(), size_t(n) * 4, cudaMemcpyDeviceToDevice,
                                                 cuda::current_stream(0)));
             });
         }},
        {"memory/copy_f32", 2 * f,
         [n] {
             Tensor a = random_gpu({n}, kFloat32, 7), b = Tensor::empty({n}, kFloat32, kGPU);
             return std::function<void()>([a, b] { copy_into(b, a); });
         }},
        {"memory/add_f32", 3 * f,
         [n] {
             Tensor a = random_gpu({n}, kFloat32, 8), b = random_gpu({n}, kFloat32, 9), c = Tensor::empty({n}, kFloat32, kGPU);
             return std::function<void()>([a, b, c] { cuda::binary(BinaryOp::Add, c, a, b); });
         }},
        {"memory/add_bf16", 3 * f / 2,
         [n] {
             Tensor a = random_gpu({n}, kBFloat16, 8), b = random_gpu({n}, kBFloat16, 9),
                    c = Tensor::empty({n}, kBFloat16, kGPU);
             return std::function<void()>([a, b, c] { cuda::binary(BinaryOp::Add, c, a, b); });
         }},
        {"memory/gelu_f32", 2 * f,
         [n] {
             Tensor a = random_gpu({n}, kFloat32, 10), c = Tensor::empty({n}, kFloat32, kGPU);
             return std::function<void()>([a, c] { cuda::unary(UnaryOp::Gelu, c, a); });
         }},
        {"memory/bias_add_f32", 2 * f,
         [n] {
             Tensor a = random_gpu({n / 384, 384}, kFloat32, 11), bias = random_gpu({384}, kFloat32, 12),
                    c = Tensor::empty({n / 384, 384}, kFloat32, kGPU);
             return std::function<void()>([a, bias, c] { cuda::binary(BinaryOp::Add, c, a, bias); });
         }},
        // Rows of ViT width (384): read x, write y (the statistics and parameters are negligible).
        {"memory/layer_norm_f32", 2 * f, layer_norm_work(kFloat32)},
        {"memory/layer_norm_bf16", f, layer_norm_work(kBFloat16)},
        // The residual add fused in: read x and the residual, write the sum and y.
        {"memory/add_layer_norm_f32", 4 * f,
         [n] {
             const int64_t rows = n / 384;
             Tensor x = random_gpu({rows, 384}, kFloat32, 19), r = random_gpu({rows, 384}, kFloat32, 20),
                    w = random_gpu({384}, kFloat32, 17), b = random_gpu({384}, kFloat32, 18),
                    h = Tensor::empty({rows, 384}, kFloat32, kGPU), y = Tensor::empty({rows, 384}, kFloat32, kGPU),
                    mean = Tensor::empty({rows}, kFloat32, kGPU), rstd = Tensor::empty({rows}, kFloat32, kGPU);
             return std::function<void()>([=] { cuda::add_layer_norm(h, y, mean, rstd, x, r, w, b, 1e-6); });
         }},
        // Attention-score rows of ViT length (198 keys), softmax over the last axis: read x, write y.
        {"memory/softmax_f32", 2 * f, softmax_work(kFloat32)},
        {"memory/softmax_bf16", f, softmax_work(kBFloat16)},
        {"memory/sum_rows_f32", f,
         [n] {
             Tensor a = random_gpu({n / 1024, 1024}, kFloat32, 13), c = Tensor::empty({n / 1024, 1}, kFloat32, kGPU);
             return std::function<void()>([a, c] { cuda::reduce(cpu::ReduceOp::Sum, c, a, {1}); });
         }},
        {"memory/sum_columns_f32", f,
         [n] {
             Tensor a = random_gpu({n / 384, 384}, kFloat32, 14), c = Tensor::empty({1, 384}, kFloat32, kGPU);
             return std::function<void()>([a, c] { cuda::reduce(cpu::ReduceOp::Sum, c, a, {0}); });
         }},
        {"memory/sum_all_f32", f,
         [n] {
             Tensor a = random_gpu({n}, kFloat32, 15), c = Tensor::empty({1}, kFloat32, kGPU);
             return std::function<void()>([a, c] { cuda::reduce(cpu::ReduceOp::Sum, c, a, {0}); });
         }},
    };
    for (const Case& c : cases) {
        benchmark::RegisterBenchmark(c.name, [c](benchmark::State& state) {
            const std::function<void()> work = c.make();
            time_gpu(state, work, c.bytes, "GB/s");
        })->UseManualTime()->Unit(benchmark::kMillisecond);
    }
}

// ---- whole training steps --------------------------------------------------------------------------

// The step of one model: forward and loss under bf16 autocast, backward, AdamW (timm's DeiT
// recipe: lr 5e-4 x 256/512, weight decay 0.05, no decay for biases, norms and the tokens).
template <class Model>
void register_step(const char* name, std::function<std::shared_ptr<Model>()> make,
                   std::function<Tensor(Model&, const Tensor&, const Tensor&)> loss_of, int64_t classes) {
    benchmark::RegisterBenchmark(name, [=](benchmark::State& state) {
        const int64_t batch = 256;
        std::shared_ptr<Model> model = make();
        model->to(kGPU);
        model->train();
        nn::AdamW optimizer(nn::make_param_groups(model->named_parameters(), 2.5e-4, 0.05,
                                                  {"cls_token", "pos_embed", "loc_token", "loc_embed"}));
        Tensor images = random_gpu({batch, 3, 224, 224}, kFloat32, 20);
        Generator gen(21);
        Tensor labels = to(rand_uniform({batch}, gen, 0.0, double(classes) - 0.5, kFloat64, kGPU), kInt64);
        auto work = [&] {
            optimizer.zero_grad();
            Tensor loss;
            {
                AutocastGuard autocast;
                loss = loss_of(*model, images, labels);
            }
            backward(loss);
            optimizer.step();
        };
        time_gpu(state, work, double(batch), "images/s");
        state.counters["peak GiB"] = double(cuda_memory_stats().peak_allocated_bytes) / double(1 << 30);
    })->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
}

void register_steps() {
    register_step<models::VisionTransformer>(
        "step/vit_s/bf16", [] { return std::make_shared<models::VisionTransformer>(models::ViTConfig::deit_small(), 1); },
        [](models::VisionTransformer& m, const Tensor& x, const Tensor& y) { return cross_entropy(m.forward(x), y); },
        1000);
    register_step<models::SAT>(
        "step/sat_s/bf16", [] { return std::make_shared<models::SAT>(models::SATConfig{}, 1); },
        [](models::SAT& m, const Tensor& x, const Tensor& y) { return m.losses(m.forward(x), y).total; }, 200);
}

#endif

}  // namespace
}  // namespace wsol

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (!wsol::cuda_compiled() || wsol::cuda_device_count() == 0) {
        std::printf("bench_cuda: %s; no GPU benchmark ran\n",
                    wsol::cuda_compiled() ? "no CUDA device on this machine" : "this build has no CUDA backend");
        return 0;
    }
#if WSOL_CUDA
    const wsol::cuda::DeviceInfo& info = wsol::cuda::device_info(0);
    std::printf("bench_cuda on %s (sm_%d%d, %d SMs)\n", info.name.c_str(), info.major, info.minor, info.multiprocessors);
    wsol::register_gemms();
    wsol::register_attention();
    wsol::register_memory();
    wsol::register_steps();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
#endif
    return 0;
}
