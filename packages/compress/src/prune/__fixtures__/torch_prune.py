"""Oracle for unstructured.test.ts: torch.nn.utils.prune masks for the weights given as JSON on stdin.

Input: {"weights": {name: {"shape": [...], "data": [...]}}, "amount": float}
Output: {"layer": {name: [mask...]}, "global": {name: [mask...]}}
"""
import json
import sys

import torch
from torch.nn.utils import prune

req = json.load(sys.stdin)


def modules():
    out = {}
    for name, w in req["weights"].items():
        m = torch.nn.Module()
        m.weight = torch.nn.Parameter(torch.tensor(w["data"], dtype=torch.float32).reshape(w["shape"]))
        out[name] = m
    return out


layer = {}
for name, m in modules().items():
    prune.l1_unstructured(m, "weight", amount=req["amount"])
    layer[name] = m.weight_mask.reshape(-1).int().tolist()
mods = modules()
prune.global_unstructured([(m, "weight") for m in mods.values()], pruning_method=prune.L1Unstructured,
                          amount=req["amount"])
glob = {name: m.weight_mask.reshape(-1).int().tolist() for name, m in mods.items()}
json.dump({"layer": layer, "global": glob}, sys.stdout)
