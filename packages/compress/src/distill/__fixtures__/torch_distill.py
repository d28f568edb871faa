"""Oracle for distill.test.ts: the torch formulas of soft-target KD and FitNets hints, with gradients.

Input: {"s": [...], "t": [...], "shape": [N, C], "labels": [...], "T": float, "alpha": float,
        "fs": [...], "fshape": [...], "ft": [...], "tshape": [...], "w": [...], "b": [...]}
"""
import json
import sys

import torch
import torch.nn.functional as F

r = json.load(sys.stdin)
s = torch.tensor(r["s"], dtype=torch.float32).reshape(r["shape"]).requires_grad_()
t = torch.tensor(r["t"], dtype=torch.float32).reshape(r["shape"])
y = torch.tensor(r["labels"], dtype=torch.long)
T = r["T"]
soft = F.kl_div(F.log_softmax(s / T, dim=-1), F.softmax(t / T, dim=-1), reduction="batchmean") * T * T
total = r["alpha"] * soft + (1 - r["alpha"]) * F.cross_entropy(s, y)
total.backward()
fs = torch.tensor(r["fs"], dtype=torch.float32).reshape(r["fshape"]).requires_grad_()
ft = torch.tensor(r["ft"], dtype=torch.float32).reshape(r["tshape"])
w = torch.tensor(r["w"], dtype=torch.float32).reshape(r["tshape"][1], r["fshape"][1], 1, 1).requires_grad_()
b = torch.tensor(r["b"], dtype=torch.float32).requires_grad_()
hint = F.mse_loss(F.conv2d(fs, w, b), ft)
hint.backward()
json.dump({"soft": soft.item(), "total": total.item(), "grad_s": s.grad.reshape(-1).tolist(),
           "hint": hint.item(), "grad_w": w.grad.reshape(-1).tolist(), "grad_fs": fs.grad.reshape(-1).tolist()},
          sys.stdout)
