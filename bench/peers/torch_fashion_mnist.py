"""PyTorch CPU peer for bench/train-throughput.ts: training steps of FashionMobileNet (bench/fashion-mnist-model.ts).

Usage: /usr/bin/python3 bench/peers/torch_fashion_mnist.py '<json {"batch", "steps", "warmup", "threads"}>'
Model (same layout and parameter count as the TypeScript one): conv3x3 1->24 | dw3x3 s2 + pw 24->64 |
dw3x3 + pw 64->64 | dw3x3 s2 + pw 64->128 | dw3x3 + pw 128->128 | GAP | dropout 0.1 | linear 128->10, every conv
without bias followed by BatchNorm and ReLU. One step = forward, cross-entropy, backward, AdamW(lr 4e-3, weight
decay 1e-4) on a fixed batch [batch, 1, 28, 28]. Prints one JSON object to stdout: {"torch", "threads", "params",
"median_ms", "cpu_median_ms", "images_per_s", "times_ms"}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def cbr(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def separable(cin, cout, stride):
    return nn.Sequential(cbr(cin, cin, 3, stride, cin), cbr(cin, cout, 1))


class FashionMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            cbr(1, 24), separable(24, 64, 2), separable(64, 64, 1), separable(64, 128, 2), separable(128, 128, 1)
        )
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg.get("threads", 2))
    torch.manual_seed(0)
    batch = cfg["batch"]
    net = FashionMobileNet().train()
    opt = torch.optim.AdamW(net.parameters(), lr=4e-3, weight_decay=1e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.arange(batch) % 10

    def step():
        c0 = time.process_time()
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000

    for _ in range(cfg["warmup"]):
        step()
    samples = [step() for _ in range(cfg["steps"])]
    med = statistics.median(s[0] for s in samples)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "params": sum(p.numel() for p in net.parameters()),
                "median_ms": med,
                "cpu_median_ms": statistics.median(s[1] for s in samples),
                "images_per_s": batch / med * 1000,
                "times_ms": [round(s[0], 3) for s in samples],
            }
        )
    )


if __name__ == "__main__":
    main()
