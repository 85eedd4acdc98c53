"""Module fixtures for nn/: PyTorch's post-norm nn.TransformerEncoderLayer (GELU, no dropout), its
self-attention as an nn.MultiheadAttention on its own, and nn.BatchNorm2d across train and eval mode.

To keep the files small (a few tens of KiB) they are stored in float32, unlike the float64 op fixtures:
every weight and input is drawn in float64 and rounded to float32, so it is exactly what the C++ tests
load; PyTorch then computes in float64 and only the results are rounded to float32 (relative error at
most 2^-24). The C++ tests run the modules in float64 (tolerance ~1e-6 relative: the rounding of the
stored results) and in float32.

tests/fixtures/nn/transformer_encoder.safetensors, TransformerEncoderLayer(d_model=16, nhead=2,
dim_feedforward=32, dropout=0, activation="gelu", layer_norm_eps=1e-5, batch_first=False):
  param.<name>            the layer's state_dict, under PyTorch's names ("self_attn.in_proj_weight", ...)
  x, y, gy, gx            input (S=5, B=3, D=16), output, output cotangent, input gradient
  grad.<name>             gradient of sum(y * gy) with respect to each parameter
  mha/y, mha/gx           the layer's self_attn weights in an nn.MultiheadAttention(batch_first=True),
                          y = attn(x', x', x')[0] on x' = x.transpose(0, 1) (B, S, D) with cotangent
                          gy.transpose(0, 1), and the gradient with respect to x'
Checked here, not stored: the same weights with batch_first=True on x.transpose(0, 1) give y and gx
transposed and the same parameter gradients (the C++ test relies on that).

tests/fixtures/nn/batchnorm2d.safetensors, BatchNorm2d(4) (eps 1e-5, momentum 0.1) with random affine
weights:
  init.<name>                      state_dict before any forward (weight, bias, running stats, num_batches_tracked)
  train1/{x,y,gy,gx,gweight,gbias} first train-mode forward on x (3, 4, 5, 5), and its gradients
  train2/{x,y}                     second train-mode forward (the running statistics are updated twice)
  after.<name>                     running_mean, running_var, num_batches_tracked after the two train steps
  eval/{y,gx,gweight,gbias}        eval-mode forward (running statistics) on train1/x with cotangent
                                   train1/gy, and its gradients

Run: /opt/refenv/bin/python tools/reference/nn_transformer.py
"""
import torch

from fixtures import generator, save

S, B, D, HEADS, FF = 5, 3, 16, 2, 32


def randn(shape, g, scale=1.0, shift=0.0):
    """float64 normal values, rounded to float32 (exactly representable in both)."""
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift).float().double()


def encoder_layer(batch_first):
    return torch.nn.TransformerEncoderLayer(d_model=D, nhead=HEADS, dim_feedforward=FF, dropout=0.0,
                                            activation="gelu", layer_norm_eps=1e-5, batch_first=batch_first,
                                            norm_first=False, dtype=torch.float64)


def forward_backward(module, x, gy, call=None):
    """Runs module on a fresh leaf copy of x and backpropagates gy: (y, gx, parameter gradients)."""
    module.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    y = call(x) if call else module(x)
    (y * gy).sum().backward()
    return y.detach(), x.grad, {name: p.grad.clone() for name, p in module.named_parameters()}


def transformer_fixture():
    torch.manual_seed(0)
    g = generator(1)
    layer = encoder_layer(batch_first=False)
    # Weights rounded to float32; LayerNorm affine parameters and biases made non-trivial (PyTorch
    # starts LayerNorm at 1 / 0 and the attention biases at 0).
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("norm") or name.endswith("bias"):
                p.copy_(randn(p.shape, g, 0.5, 1.0 if name.endswith("weight") else 0.0))
            else:
                p.copy_(p.float().double())
    layer.train()  # dropout is 0, so train mode is deterministic; it also avoids the fused eval fast path
    out = {f"param.{name}": t.clone() for name, t in layer.state_dict().items()}
    print("TransformerEncoderLayer state_dict order:", list(layer.state_dict().keys()))

    x = randn((S, B, D), g)
    gy = randn((S, B, D), g)
    y, gx, grads = forward_backward(layer, x, gy)
    out["x"], out["y"], out["gy"], out["gx"] = x, y, gy, gx
    for name, grad in grads.items():
        out[f"grad.{name}"] = grad

    batch_first = encoder_layer(batch_first=True)
    batch_first.load_state_dict(layer.state_dict())
    batch_first.train()
    x_bf, gy_bf = x.transpose(0, 1).contiguous(), gy.transpose(0, 1).contiguous()
    y_bf, gx_bf, grads_bf = forward_backward(batch_first, x_bf, gy_bf)
    assert torch.allclose(y_bf, y.transpose(0, 1), rtol=1e-12, atol=1e-13)
    assert torch.allclose(gx_bf, gx.transpose(0, 1), rtol=1e-12, atol=1e-13)
    for name, grad in grads_bf.items():
        assert torch.allclose(grad, grads[name], rtol=1e-12, atol=1e-13), name

    mha = torch.nn.MultiheadAttention(D, HEADS, dropout=0.0, batch_first=True, dtype=torch.float64)
    mha.load_state_dict(layer.self_attn.state_dict())
    mha.train()
    print("MultiheadAttention state_dict order:", list(mha.state_dict().keys()))
    self_attention = lambda t: mha(t, t, t, need_weights=False)[0]  # noqa: E731
    out["mha/y"], out["mha/gx"], _ = forward_backward(mha, x_bf, gy_bf, call=self_attention)
    report_float32_error(layer, out)
    save("nn/transformer_encoder.safetensors", {k: v.float() if v.is_floating_point() else v for k, v in out.items()})


def report_float32_error(layer, out):
    """Prints how far PyTorch's own float32 run lands from the float64 results (to size the C++ tolerance)."""
    layer32 = encoder_layer(batch_first=False).float()
    layer32.load_state_dict(layer.state_dict())
    layer32.train()
    y, gx, grads = forward_backward(layer32, out["x"].float(), out["gy"].float())
    pairs = [("y", y, out["y"]), ("gx", gx, out["gx"])] + [(n, g, out[f"grad.{n}"]) for n, g in grads.items()]
    for name, got, want in pairs:
        err = (got.double() - want).abs()
        print(f"  float32 {name}: max abs err {err.max().item():.2e}, "
              f"max rel err (|want| > 1e-2) {(err / want.abs())[want.abs() > 1e-2].max().item():.2e}, "
              f"max |want| {want.abs().max().item():.2e}")


def batchnorm_fixture():
    torch.manual_seed(0)
    g = generator(2)
    bn = torch.nn.BatchNorm2d(4, eps=1e-5, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(randn(4, g, 0.5, 1.0))
        bn.bias.copy_(randn(4, g, 0.5))
    out = {f"init.{name}": t.clone() for name, t in bn.state_dict().items()}

    # Channel means and scales differ, so the running statistics move visibly.
    shift = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64).view(1, 4, 1, 1)
    scale = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64).view(1, 4, 1, 1)
    x1 = randn((3, 4, 5, 5), g, scale, shift)
    x2 = randn((3, 4, 5, 5), g, scale, -shift)
    gy = randn((3, 4, 5, 5), g)

    bn.train()
    y, gx, grads = forward_backward(bn, x1, gy)
    out.update({"train1/x": x1, "train1/y": y, "train1/gy": gy, "train1/gx": gx,
                "train1/gweight": grads["weight"], "train1/gbias": grads["bias"]})
    with torch.no_grad():
        out["train2/x"], out["train2/y"] = x2, bn(x2)
    for name, t in bn.state_dict().items():
        if name.startswith("running") or name == "num_batches_tracked":
            out[f"after.{name}"] = t.clone()
    bn.eval()
    y, gx, grads = forward_backward(bn, x1, gy)
    out.update({"eval/y": y, "eval/gx": gx, "eval/gweight": grads["weight"], "eval/gbias": grads["bias"]})
    save("nn/batchnorm2d.safetensors", {k: v.float() if v.is_floating_point() else v for k, v in out.items()})


if __name__ == "__main__":
    transformer_fixture()
    batchnorm_fixture()
