"""PyTorch single-thread peer for bench/gemm-conv.ts.

Usage: /usr/bin/python3 bench/peers/torch_gemm_conv.py '<json list of cases>'
Each case: {"name", "kind": "gemm"|"conv", "runs", "warmup", and for gemm "n"; for conv "x", "w", "stride",
"padding", "groups"}. Prints one JSON object to stdout:
{"torch", "threads", "blas", "mkldnn", "results": {name: {"median_ms", "times_ms"}}}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "times_ms": times}


def make_fn(c):
    if c["kind"] == "gemm":
        a = torch.randn(c["n"], c["n"])
        b = torch.randn(c["n"], c["n"])
        return lambda: torch.matmul(a, b)
    x = torch.randn(*c["x"])
    w = torch.randn(*c["w"])
    return lambda: F.conv2d(x, w, None, stride=c["stride"], padding=c["padding"], groups=c["groups"])


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cases = json.loads(sys.argv[1])
    cfg = torch.__config__.show()
    blas = cfg.split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in cfg else "unknown"
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
           "mkldnn": torch.backends.mkldnn.is_available(), "results": {}}
    with torch.no_grad():
        fns = {c["name"]: make_fn(c) for c in cases}
        # One untimed pass over every case first: torch's allocator (glibc malloc's dynamic mmap threshold)
        # settles into its steady state, as in a network running many layers, so results do not depend on order.
        for c in cases:
            for _ in range(c["warmup"]):
                fns[c["name"]]()
        for c in cases:
            out["results"][c["name"]] = timed(fns[c["name"]], c["runs"], c["warmup"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
