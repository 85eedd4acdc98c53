"""Optimizer fixtures: PyTorch's AdamW and SGD applied for several steps to a small parameter with
fixed gradients, and clip_grad_norm_. Writes tests/fixtures/nn/optim.safetensors.

Run: /opt/refenv/bin/python tools/reference/nn_optim.py
"""
import torch

from fixtures import save

torch.manual_seed(0)
out = {}
steps = 5
p0 = torch.randn(3, 4, dtype=torch.float64)
b0 = torch.randn(4, dtype=torch.float64)
grads = [torch.randn(3, 4, dtype=torch.float64) for _ in range(steps)]
bgrads = [torch.randn(4, dtype=torch.float64) for _ in range(steps)]
out["p0"], out["b0"] = p0, b0
for t in range(steps):
    out[f"grad{t}"], out[f"bgrad{t}"] = grads[t], bgrads[t]


def run(name, make):
    p = p0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = make([{"params": [p], "weight_decay": 0.05}, {"params": [b], "weight_decay": 0.0}])
    for t in range(steps):
        p.grad, b.grad = grads[t].clone(), bgrads[t].clone()
        opt.step()
        out[f"{name}/p{t}"], out[f"{name}/b{t}"] = p.detach().clone(), b.detach().clone()


run("adamw", lambda g: torch.optim.AdamW(g, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, foreach=False))
run("sgd", lambda g: torch.optim.SGD(g, lr=0.1))
run("sgd_momentum", lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, dampening=0.1))
run("sgd_nesterov", lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, nesterov=True))

p = p0.clone().requires_grad_(True)
b = b0.clone().requires_grad_(True)
p.grad, b.grad = grads[0].clone(), bgrads[0].clone()
norm = torch.nn.utils.clip_grad_norm_([p, b], max_norm=1.0)
out["clip/norm"] = norm.reshape(1)
out["clip/p_grad"], out["clip/b_grad"] = p.grad.clone(), b.grad.clone()
save("nn/optim.safetensors", out)
