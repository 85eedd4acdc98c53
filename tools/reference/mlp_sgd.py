"""End-to-end fixture for the engine: a small MLP on a synthetic 2-D classification task (three
interleaved spirals), its initial weights, and PyTorch's loss at each of 20 full-batch SGD steps.
Writes tests/fixtures/nn/mlp_sgd.safetensors. Run: /opt/refenv/bin/python tools/reference/mlp_sgd.py
"""
import math

import torch

from fixtures import save

torch.manual_seed(0)
n_per_class, classes = 40, 3
xs, ys = [], []
for c in range(classes):
    t = torch.linspace(0.1, 1.0, n_per_class, dtype=torch.float64)
    angle = t * 3.5 + c * 2 * math.pi / classes
    xs.append(torch.stack([t * torch.cos(angle), t * torch.sin(angle)], 1))
    ys.append(torch.full((n_per_class,), c, dtype=torch.int64))
x, y = torch.cat(xs).float(), torch.cat(ys)

model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                            torch.nn.Linear(32, classes))
out = {"x": x, "y": y}
for name, p in model.state_dict().items():
    out["init." + name] = p.clone()
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
losses = []
for step in range(20):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
out["losses"] = torch.tensor(losses, dtype=torch.float64)
save("nn/mlp_sgd.safetensors", out)
print("losses", [round(v, 5) for v in losses[:5]], "...", round(losses[-1], 5))
