"""Exports torchvision MobileNets (and a small dynamic-batch CNN) to ONNX for the importer oracle test.

Usage: /usr/bin/python3 torchvision_onnx.py OUT_DIR

For each model: random init (seeded), BatchNorm statistics warmed by a few train-mode passes (without them the
outputs collapse towards zero), eval mode, `torch.onnx.export` at opset 13 with a static 1x3x64x64 input, and
the input and torch's output as .npy files (`<name>.onnx`, `<name>_input.npy`, `<name>_output.npy`).
`dynamic_cnn` is exported with a dynamic batch axis and reshapes with `x.view(x.size(0), -1)`, so its graph
computes the target shape at run time (Shape → Gather → Unsqueeze → Concat → Reshape).
"""

import os
import sys

import numpy as np
import torch
import torchvision

MODELS = {
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10),
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(num_classes=10),
}
RES = 64


class DynamicCnn(torch.nn.Module):
    """conv → BN → ReLU → nearest ×2 upsample → strided conv → avg pool → view(N, -1) → linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.c2 = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = torch.nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.nn.functional.interpolate(y, scale_factor=2.0, mode="nearest")
        y = torch.nn.functional.avg_pool2d(torch.relu(self.c2(y)), 4)
        return self.fc(y.view(y.size(0), -1))


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    models = {**MODELS, "dynamic_cnn": DynamicCnn}
    for i, (name, make) in enumerate(models.items()):
        torch.manual_seed(100 + i)
        model = make()
        # torchvision initialises the classifier with std 0.01, which squashes the logits towards zero; use
        # PyTorch's default Linear init so the comparison sees a useful output range
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                m.reset_parameters()
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(8, 3, 16, 16) if name == "dynamic_cnn" else torch.randn(8, 3, RES, RES))
        model.eval()
        dynamic = name == "dynamic_cnn"
        x = torch.randn(2, 3, 16, 16) if dynamic else torch.randn(1, 3, RES, RES)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(out_dir, f"{name}.onnx")
        axes = {"input": {0: "N"}, "logits": {0: "N"}} if dynamic else None
        torch.onnx.export(
            model,
            x,
            path,
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
            dynamic_axes=axes,
        )
        np.save(os.path.join(out_dir, f"{name}_input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out_dir, f"{name}_output.npy"), y.numpy().astype(np.float32))
        print(name, os.path.getsize(path), float(y.min()), float(y.max()))


if __name__ == "__main__":
    main(sys.argv[1])
