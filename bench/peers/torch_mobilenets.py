"""PyTorch peer of bench/wasm-models.ts: torchvision models of the same architecture, batch 1, 224x224, one thread.

Usage: python3 torch_mobilenets.py RUNS MODEL... -> JSON {model: {"eager", "jit", "eager_cpu", "jit_cpu": [ms...]}}
on stdout (wall and process CPU time per run).
Eager mode and TorchScript (trace, freeze, optimize_for_inference), random weights (latency does not depend on them).
"""
import json
import sys
import time

import torch
import torchvision

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
BUILD = {
    "mobilenet_v1": None,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
    "mobilenet_v3_large": torchvision.models.mobilenet_v3_large,
    "efficientnet_lite0": None,
}


def timed(fn, x, runs):
    with torch.inference_mode():
        for _ in range(3):
            fn(x)
        out, cpu = [], []
        for _ in range(runs):
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn(x)
            out.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    return out, cpu


def main():
    runs = int(sys.argv[1])
    res = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    for name in sys.argv[2:]:
        build = BUILD.get(name)
        if build is None:
            continue
        m = build().eval()
        x = torch.randn(1, 3, 224, 224)
        eager, eager_cpu = timed(m, x, runs)
        with torch.no_grad():
            jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m, x)))
        jit_t, jit_cpu = timed(jit, x, runs)
        res["models"][name] = {"eager": eager, "jit": jit_t, "eager_cpu": eager_cpu, "jit_cpu": jit_cpu}
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
