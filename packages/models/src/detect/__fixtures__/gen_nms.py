#!/usr/bin/env python3
"""NMS fixtures for nms.test.ts from torchvision.ops.nms / batched_nms (torchvision 0.14, Debian python3-torchvision).

Run: /usr/bin/python3 gen_nms.py  (writes nms.json beside this file; a few seconds)
Boxes and scores are float32 and stored as the exact float32 values (printed with repr of the float64 cast).
"""
import json
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import batched_nms, nms

HERE = Path(__file__).resolve().parent


def random_boxes(rng, n, size=100.0, max_wh=40.0):
    xy = rng.random((n, 2)) * size
    wh = rng.random((n, 2)) * max_wh + 0.5
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def case(name, boxes, scores, idxs, thr):
    b = torch.from_numpy(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    s = torch.from_numpy(np.asarray(scores, dtype=np.float32))
    i = torch.from_numpy(np.asarray(idxs, dtype=np.int64))
    return {
        'name': name,
        'iouThreshold': thr,
        'boxes': [float(v) for v in b.flatten().tolist()],
        'scores': [float(v) for v in s.tolist()],
        'categories': [int(v) for v in i.tolist()],
        'nms': nms(b, s, thr).tolist(),
        'batched': batched_nms(b, s, i, thr).tolist(),
    }


def main():
    rng = np.random.default_rng(0)
    cases = []
    for k, thr in enumerate([0.3, 0.5, 0.7]):
        n = 150
        cases.append(case(f'random n={n} thr={thr}', random_boxes(rng, n), rng.random(n), rng.integers(0, 5, n), thr))
    # Many tied scores (three distinct values): the order among equal scores matters.
    n = 120
    cases.append(case('tied scores', random_boxes(rng, n, 60.0), rng.integers(0, 3, n) / 4 + 0.25,
                      rng.integers(0, 3, n), 0.4))
    # Integer boxes: IoU values exactly at the threshold (0.5) must not suppress (strict >).
    cases.append(case('iou exactly at threshold', [[0, 0, 2, 1], [0, 0, 1, 1], [0, 0, 4, 4], [0, 0, 4, 2], [10, 10, 12, 12]],
                      [0.9, 0.8, 0.7, 0.6, 0.5], [0, 0, 1, 1, 0], 0.5))
    cases.append(case('identical boxes and scores', [[1, 1, 5, 5]] * 4, [0.5] * 4, [0, 1, 0, 1], 0.5))
    cases.append(case('zero-area and degenerate boxes', [[3, 3, 3, 3], [3, 3, 3, 3], [0, 0, 0, 5], [0, 0, 6, 5], [1, 1, 2, 2]],
                      [0.9, 0.8, 0.7, 0.6, 0.95], [0, 0, 0, 0, 0], 0.1))
    cases.append(case('threshold 0 and 1', [[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30], [0, 0, 10, 10]],
                      [0.4, 0.9, 0.3, 0.2], [0, 0, 0, 0], 0.0))
    cases.append(case('threshold 1 keeps all', [[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 9, 9]],
                      [0.4, 0.9, 0.3], [0, 0, 0], 1.0))
    cases.append(case('single box', [[0, 0, 1, 1]], [0.1], [3], 0.5))
    cases.append(case('empty', np.zeros((0, 4)), [], [], 0.5))
    # More than 1000 boxes: torchvision's batched_nms switches to its per-class loop on CPU.
    n = 1100
    cases.append(case(f'large n={n}', random_boxes(rng, n, 300.0), rng.random(n), rng.integers(0, 7, n), 0.5))
    out = {'source': f'torchvision {__import__("torchvision").__version__}, torch {torch.__version__}', 'cases': cases}
    (HERE / 'nms.json').write_text(json.dumps(out, separators=(',', ':')) + '\n')
    print(len(cases), 'cases', (HERE / 'nms.json').stat().st_size, 'bytes')


if __name__ == '__main__':
    main()
