#!/usr/bin/env python3
"""Fixtures of yolo-nano.test.ts from Ultralytics YOLOv5 itself (release v7.0, the v6.0 architecture).

Needs a YOLOv5 v7.0 source tree (no install):
    git clone https://github.com/ultralytics/yolov5 && git -C yolov5 archive v7.0 | tar -x -C /tmp/yolov5-v7.0
    /usr/bin/python3 yolo_nano_gen.py /tmp/yolov5-v7.0

YOLOv5's modules import plotting/data libraries that the loss and model code never call (cv2, pandas,
matplotlib, ...); they are replaced by empty stand-ins. Runs on torch 1.13.1 (Debian python3-torch).

Weights are not stored: every float tensor of the state dict (in YOLOv5's order, skipping `anchors` and
`num_batches_tracked`) is filled from `det_values(k, n)` (see below), which the test reproduces, so the
fixture stays a few hundred kB for the full-width YOLOv5n.

Writes, for YOLOv5n (depth 0.33, width 0.25) with nc=3 at 64x64, batch 2, eval mode:
  yolo_nano.input.npy    [2, 3, 64, 64] input
  yolo_nano.raw.npy      [2, rows, 8] raw head outputs in our layout (level, anchor, y, x)
  yolo_nano.decoded.npy  [2, rows, 8] Detect's inference output (xywh pixels, sigmoid obj/cls)
  yolo_nano.grad.npy     [2, rows, 8] d loss / d raw of ComputeLoss
  yolo_nano.json         parameter count (nc=80 and nc=3), targets, loss parts, hyperparameters
"""
import json
import math
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
Y5 = Path(sys.argv[1] if len(sys.argv) > 1 else '/tmp/yolov5-v7.0').resolve()
for name in ['cv2', 'pandas', 'matplotlib', 'matplotlib.pyplot', 'seaborn', 'IPython', 'IPython.display',
             'tqdm', 'thop', 'ultralytics']:
    sys.modules.setdefault(name, mock.MagicMock())
sys.path.insert(0, str(Y5))
from models.yolo import Model  # noqa: E402
from utils.loss import ComputeLoss  # noqa: E402

NC, RES, BATCH = 3, 64, 2


def det_values(k, n):
    """Deterministic values in [-1, 1]: sin(0.7·i + 1.3·k + 0.1), i = 0..n-1 (float64, then float32)."""
    i = np.arange(n, dtype=np.float64)
    return np.sin(0.7 * i + 1.3 * k + 0.1)


def fill(model):
    k = 0
    for name, t in model.state_dict().items():
        if name.endswith('anchors') or name.endswith('num_batches_tracked'):
            continue
        v = det_values(k, t.numel())
        if name.endswith('running_var'):
            v = 1.0 + 0.5 * np.abs(v)
        elif name.endswith('running_mean') or name.endswith('bn.bias') or name.endswith('.bias'):
            v = 0.1 * v
        elif name.endswith('bn.weight'):
            v = 1.0 + 0.2 * v
        else:  # conv weights: scaled by 1/sqrt(fan_in)
            v = v * (1.5 / math.sqrt(t[0].numel()))
        with torch.no_grad():
            t.copy_(torch.from_numpy(v.astype(np.float32)).view_as(t))
        k += 1
    return k


def main():
    cfg = str(Y5 / 'models' / 'yolov5n.yaml')
    params80 = sum(p.numel() for p in Model(cfg, ch=3, nc=80).parameters())
    model = Model(cfg, ch=3, nc=NC)
    params3 = sum(p.numel() for p in model.parameters())
    filled = fill(model)
    model.eval()
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 3, RES, RES), dtype=np.float32)
    # Targets: [image, class, cx, cy, w, h], normalised; a mix of sizes, cell positions (both halves of a
    # cell, borders) and classes, so every neighbour-cell rule and the anchor-ratio filter are exercised.
    tl = [
        [0, 0, 0.30, 0.40, 0.20, 0.25],
        [0, 2, 0.71, 0.22, 0.45, 0.30],
        [0, 1, 0.05, 0.93, 0.09, 0.12],
        [1, 1, 0.52, 0.48, 0.80, 0.70],
        [1, 0, 0.17, 0.66, 0.14, 0.05],
        [1, 2, 0.88, 0.12, 0.20, 0.21],
    ]
    targets = torch.tensor(tl, dtype=torch.float32)
    nl = 3
    hyp = {'box': 0.05 * 3 / nl, 'obj': 1.0 * (RES / 640) ** 2 * 3 / nl, 'cls': 0.5 * NC / 80 * 3 / nl,
           'cls_pw': 1.0, 'obj_pw': 1.0, 'fl_gamma': 0.0, 'anchor_t': 4.0, 'label_smoothing': 0.0}
    model.hyp = hyp
    with torch.no_grad():
        decoded, raw_levels = model(torch.from_numpy(x))
    raw_levels = [r.clone().requires_grad_(True) for r in raw_levels]
    loss, parts = ComputeLoss(model)(raw_levels, targets)
    loss.backward()
    ours = lambda ts: torch.cat([t.reshape(BATCH, -1, 5 + NC) for t in ts], 1).detach().numpy()  # noqa: E731
    np.save(HERE / 'yolo_nano.input.npy', x)
    np.save(HERE / 'yolo_nano.raw.npy', ours(raw_levels))
    np.save(HERE / 'yolo_nano.decoded.npy', decoded.numpy())
    np.save(HERE / 'yolo_nano.grad.npy', ours([r.grad for r in raw_levels]))
    meta = {
        'source': 'Ultralytics YOLOv5 v7.0 models/yolov5n.yaml, utils/loss.py ComputeLoss; torch ' + torch.__version__,
        'params_nc80': params80,
        'params_nc3': params3,
        'filled_tensors': filled,
        'numClasses': NC,
        'resolution': RES,
        'targets': tl,
        'hyp': hyp,
        'loss': loss.item(),
        'lbox': parts[0].item(),
        'lobj': parts[1].item(),
        'lcls': parts[2].item(),
    }
    (HERE / 'yolo_nano.json').write_text(json.dumps(meta, indent=1) + '\n')
    print(json.dumps(meta))


if __name__ == '__main__':
    main()
