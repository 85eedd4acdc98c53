"""PyTorch's torch.matmul (cuBLAS) on the GEMMs of bench/bench_cuda.cpp: ViT-S training shapes at
batch 256 (M = 256 * 197 tokens), layers 384->1152, 384->1536, 1536->384, the forward and the two
backward products, in fp32 (TF32 off), tf32 and bf16. Prints JSON lines (cuda_timing.py)."""
import torch

from cuda_timing import report, require_gpu, time_ms


def main():
    require_gpu()
    M = 256 * 197
    for mode, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        for K, N in ((384, 1152), (384, 1536), (1536, 384)):
            x = torch.rand(M, K, device="cuda", dtype=dtype) * 2 - 1
            w = torch.rand(N, K, device="cuda", dtype=dtype) * 2 - 1
            dy = torch.rand(M, N, device="cuda", dtype=dtype) * 2 - 1
            passes = {
                "fwd": lambda: torch.matmul(x, w.t()),
                "dgrad": lambda: torch.matmul(dy, w),
                "wgrad": lambda: torch.matmul(dy.t(), x),
            }
            for name, fn in passes.items():
                ms = time_ms(fn)
                report(f"gemm/{mode}/{name}/{K}x{N}", 2.0 * M * N * K, "TFLOP/s", ms)
    torch.backends.cuda.matmul.allow_tf32 = False


if __name__ == "__main__":
    main()
