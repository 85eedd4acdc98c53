"""PyTorch's scaled_dot_product_attention (FlashAttention / cuDNN / memory-efficient backends, as
PyTorch picks) at the shape of bench/bench_cuda.cpp: B=256, H=6, N=198, D=64, bf16, forward and
forward+backward. The key gate of wsol's kernel has no SDPA equivalent (it multiplies the
probabilities after the softmax), so the gated variant is timed as SDPA plus nothing: compare it
with the ungated line. Prints JSON lines (cuda_timing.py)."""
import torch
import torch.nn.functional as F

from cuda_timing import report, require_gpu, time_ms


def main():
    require_gpu()
    B, H, N, D = 256, 6, 198, 64
    qkv = (torch.rand(B, N, 3, H, D, device="cuda", dtype=torch.bfloat16) * 2 - 1).requires_grad_(True)
    q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
    dout = torch.rand(B, H, N, D, device="cuda", dtype=torch.bfloat16) * 2 - 1
    fwd_flops = 4.0 * B * H * N * N * D

    def forward():
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v, scale=0.125)

    def forward_backward():
        out = F.scaled_dot_product_attention(q, k, v, scale=0.125)
        torch.autograd.grad(out, (qkv,), dout)

    report("attention/bf16/fwd", fwd_flops, "TFLOP/s", time_ms(forward))
    report("attention/bf16/fwd+bwd", 3.5 * fwd_flops, "TFLOP/s", time_ms(forward_backward))


if __name__ == "__main__":
    main()
