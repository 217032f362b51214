"""Phases of known design, one stage each, for checking the report's states on a real GPU.

    stagewatch-agent run --interval-ms 100 ... -- python3 test/gpu/phases.py [SECONDS_PER_PHASE]

Each phase is marked through the Python marks client; test/gpu/phases-design.json says which
state each should get and with what share. The host thread waits on blocking CUDA events (it
sleeps instead of spinning), so only the phases meant to load the host do.
"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "agent", "clients", "python"))
import gpu_loops  # noqa: E402
import stagewatch  # noqa: E402
from gpu_loops import wait_gpu  # noqa: E402
import torch  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
dev = "cuda"
a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
host_buf = torch.empty(1 << 30, dtype=torch.uint8, pin_memory=True)
dev_buf = torch.empty(1 << 30, dtype=torch.uint8, device=dev)
tiny = torch.zeros(1, device=dev)


def matmuls(until):
    gpu_loops.matmuls(a, b, until)


def copies(until):
    while time.perf_counter() < until:
        dev_buf.copy_(host_buf, non_blocking=True)
        wait_gpu()


# torch.cuda._sleep spins one thread block: utilization ~100 %, SM activity ~1 %.
t0 = time.perf_counter()
torch.cuda._sleep(100_000_000)
wait_gpu()
CYCLES_PER_S = 100_000_000 / (time.perf_counter() - t0)


def spin(until):
    while time.perf_counter() < until:
        torch.cuda._sleep(int(CYCLES_PER_S * min(0.05, max(0.001, until - time.perf_counter()))))
        wait_gpu()


def tiny_kernels(until):
    gpu_loops.tiny_kernels(tiny, until)


cpu = gpu_loops.cpu
sleep = gpu_loops.sleep
disk = gpu_loops.disk


def alternate(until, parts):
    """Within every second, each (function, seconds) in turn."""
    while time.perf_counter() < until:
        for fn, secs in parts:
            fn(min(until, time.perf_counter() + secs))


path = gpu_loops.disk_file()
matmuls(time.perf_counter() + 2)  # warm-up: kernels loaded, clocks up
sleep(time.perf_counter() + 3)  # and back to idle before the first phase
phases = [
    ("compute", lambda u: matmuls(u)),
    ("copy", lambda u: copies(u)),
    ("spin", lambda u: spin(u)),
    ("tiny_kernels", lambda u: tiny_kernels(u)),
    ("cpu", lambda u: cpu(u)),
    ("disk", lambda u: disk(u, path)),
    ("sleep", lambda u: sleep(u)),
    ("mixed_compute_sleep", lambda u: alternate(u, [(matmuls, 0.3), (sleep, 0.7)])),
    ("mixed_three", lambda u: alternate(u, [(matmuls, 0.4), (spin, 0.3), (cpu, 0.3)])),
]
try:
    for name, fn in phases:
        with stagewatch.stage(name):
            fn(time.perf_counter() + SECONDS)
        sleep(time.perf_counter() + 1)
finally:
    os.unlink(path)
print("phases done", flush=True)
