"""PyTorch's elementwise and reduction kernels on the sizes of bench/bench_cuda.cpp (64 Mi
elements), with the device-to-device copy as the memory ceiling. GB/s count bytes read plus
written. Prints JSON lines (cuda_timing.py)."""
import torch

from cuda_timing import report, require_gpu, time_ms


def main():
    require_gpu()
    n = 1 << 26
    f = 4.0 * n
    a = torch.rand(n, device="cuda") * 2 - 1
    b = torch.rand(n, device="cuda") * 2 - 1
    out = torch.empty_like(a)
    ab, bb = a.bfloat16(), b.bfloat16()
    rows = a.view(n // 1024, 1024)
    cols = a[: n // 384 * 384].view(n // 384, 384)
    bias = torch.rand(384, device="cuda")
    report("memory/memcpy_d2d_f32", 2 * f, "GB/s", time_ms(lambda: out.copy_(a)))
    report("memory/copy_f32", 2 * f, "GB/s", time_ms(lambda: out.copy_(a)))
    report("memory/add_f32", 3 * f, "GB/s", time_ms(lambda: torch.add(a, b, out=out)))
    report("memory/add_bf16", 3 * f / 2, "GB/s", time_ms(lambda: torch.add(ab, bb)))
    report("memory/gelu_f32", 2 * f, "GB/s", time_ms(lambda: torch.nn.functional.gelu(a)))
    report("memory/bias_add_f32", 2 * f, "GB/s", time_ms(lambda: cols + bias))
    F = torch.nn.functional
    x = torch.rand(n // 384, 384, device="cuda") * 4 + 2
    r = torch.rand(n // 384, 384, device="cuda") * 2 - 1
    w, bn = torch.rand(384, device="cuda") + 0.5, torch.rand(384, device="cuda") - 0.5
    xb, wb, bb16 = x.bfloat16(), w.bfloat16(), bn.bfloat16()
    report("memory/layer_norm_f32", 2 * f, "GB/s", time_ms(lambda: F.layer_norm(x, (384,), w, bn, 1e-6)))
    report("memory/layer_norm_bf16", f, "GB/s", time_ms(lambda: F.layer_norm(xb, (384,), wb, bb16, 1e-6)))
    # PyTorch has no fused residual add + LayerNorm: the same work as its two kernels.
    report("memory/add_layer_norm_f32", 4 * f, "GB/s", time_ms(lambda: F.layer_norm(x + r, (384,), w, bn, 1e-6)))
    s_rows = torch.rand(n // 198, 198, device="cuda") * 8 - 4
    report("memory/softmax_f32", 2 * f, "GB/s", time_ms(lambda: torch.softmax(s_rows, 1)))
    s_rows_b = s_rows.bfloat16()
    report("memory/softmax_bf16", f, "GB/s", time_ms(lambda: torch.softmax(s_rows_b, 1)))
    report("memory/sum_rows_f32", f, "GB/s", time_ms(lambda: rows.sum(1)))
    report("memory/sum_columns_f32", f, "GB/s", time_ms(lambda: cols.sum(0)))
    report("memory/sum_all_f32", f, "GB/s", time_ms(lambda: a.sum()))


if __name__ == "__main__":
    main()
