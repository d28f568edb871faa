"""Oracle (HistogramObserver: L2-error range search, the MSE reference) for observers.test.ts: PyTorch's own observers on the batches given as JSON on stdin.

Input: {"batches": [[...flat...], ...], "shape": [...], "axis": int|null}
Output: {"minmax": {...}, "moving": {...}, "perchannel": {...}?, "percentile": [lo, hi]}
"""
import json
import sys

import numpy as np
import torch
from torch.ao.quantization.observer import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    HistogramObserver,
    PerChannelMinMaxObserver,
)

req = json.load(sys.stdin)
shape = req["shape"]
batches = [torch.tensor(b, dtype=torch.float32).reshape(shape) for b in req["batches"]]


def run(obs):
    for b in batches:
        obs(b)
    s, z = obs.calculate_qparams()
    return {"scale": s.reshape(-1).tolist(), "zeroPoint": z.reshape(-1).tolist(),
            "min": obs.min_val.reshape(-1).tolist(), "max": obs.max_val.reshape(-1).tolist()}


out = {
    "minmax": run(MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)),
    "minmax_sym": run(MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
    "moving": run(MovingAverageMinMaxObserver(averaging_constant=0.01, dtype=torch.qint8)),
    "histogram": run(HistogramObserver(bins=2048, dtype=torch.qint8)),
}
if req.get("axis") is not None:
    out["perchannel"] = run(PerChannelMinMaxObserver(ch_axis=req["axis"], dtype=torch.qint8,
                                                     qscheme=torch.per_channel_affine))
allv = np.concatenate([np.asarray(b, dtype=np.float32) for b in req["batches"]])
out["percentile"] = [float(np.percentile(allv, 100 - req.get("percentile", 99.9))),
                     float(np.percentile(allv, req.get("percentile", 99.9)))]
json.dump(out, sys.stdout)
