"""PyTorch single-thread peer for bench/train-step.ts: one training step of the demo conv net.

Usage: /usr/bin/python3 bench/peers/torch_train_step.py '<json {"batch", "runs", "warmup"}>'
Model: conv(1→16,3×3,p1)-BN-ReLU-maxpool2-conv(16→32,3×3,p1)-BN-ReLU-maxpool2-GAP-linear(32→10), no conv bias,
AdamW(lr 3e-3, weight decay 1e-4), cross-entropy, input [batch, 1, 28, 28]. Prints one JSON object to stdout:
{"torch", "threads", "median_ms", "times_ms", "cpu_median_ms" (process CPU time), "phases": {forward, backward, optimizer: median ms},
"ops": [{"name", "ms_per_step", "calls_per_step"}] (autograd profiler self CPU time, top 15)}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    batch = cfg["batch"]
    net = Net().train()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.arange(batch) % 10

    def step(ph=None):
        c0 = time.process_time()
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if ph is not None:
            ph["forward"].append((t1 - t0) * 1e3)
            ph["backward"].append((t2 - t1) * 1e3)
            ph["optimizer"].append((t3 - t2) * 1e3)
            ph["cpu"].append((time.process_time() - c0) * 1e3)
        return (t3 - t0) * 1e3

    for _ in range(cfg["warmup"]):
        step()
    ph = {"forward": [], "backward": [], "optimizer": [], "cpu": []}
    times = [step(ph) for _ in range(cfg["runs"])]
    prof_runs = 3
    with torch.autograd.profiler.profile() as prof:
        for _ in range(prof_runs):
            step()
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "median_ms": statistics.median(times),
        "times_ms": times,
        "cpu_median_ms": statistics.median(ph.pop("cpu")),
        "phases": {k: statistics.median(v) for k, v in ph.items()},
        "ops": [
            {"name": e.key, "ms_per_step": e.self_cpu_time_total / 1e3 / prof_runs, "calls_per_step": e.count / prof_runs}
            for e in ops
        ],
    }))


if __name__ == "__main__":
    main()
