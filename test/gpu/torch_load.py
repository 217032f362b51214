"""A CUDA load for test/gpu/nvml-check.mjs and measure.mjs: bf16 matmuls and host<->device copies on
one GPU (LOCAL_RANK, default 0) for SECONDS (argv[1], default 30), plus one Python thread that keeps a
core busy, so per-process GPU mapping, per-process utilization, PCIe rates and the busiest thread all
have something to see. With LIGHT=1 the GPU work is small and mostly idle (measure.mjs runs it beside
the staged workload, whose timings it must not disturb). Prints its pid first."""
import os
import sys
import threading
import time

import torch

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
print(os.getpid(), flush=True)
light = os.environ.get("LIGHT") == "1"
dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
n = 1024 if light else 8192
a = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
b = torch.randn(n, n, dtype=torch.bfloat16, device=dev)
host = torch.empty((4 if light else 256) * 2**20, dtype=torch.uint8).pin_memory()
stop = time.time() + seconds


def spin():
    x = 0
    while time.time() < stop:
        x += 1


threading.Thread(target=spin, daemon=True).start()
while time.time() < stop:
    for _ in range(20):
        c = a @ b
    d = host.to(dev, non_blocking=True)
    host.copy_(d, non_blocking=True)
    torch.cuda.synchronize(dev)
    if light:
        time.sleep(0.05)
print("done", float(c[0, 0]), flush=True)
