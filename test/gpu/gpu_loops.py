"""The GPU loops the designed-phase workloads share (test/gpu/phases.py, test/gpu/phases2.py)."""
import time

import torch


def wait_gpu():
    """Waits for the GPU with the host thread asleep (a blocking event, not a spin)."""
    ev = torch.cuda.Event(blocking=True)
    ev.record()
    ev.synchronize()


def matmuls(a, b, until):
    """bf16 matmuls back to back, four per host wait: compute-bound."""
    while time.perf_counter() < until:
        for _ in range(4):
            torch.matmul(a, b)
        wait_gpu()


def tiny_kernels(tiny, until):
    """Launches from Python as fast as it can: the GPU finishes each long before the next arrives."""
    n = 0
    while time.perf_counter() < until:
        tiny.add_(1)
        n += 1
        if n % 10000 == 0:
            wait_gpu()
    wait_gpu()
