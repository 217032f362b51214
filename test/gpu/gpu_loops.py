"""The loops the designed-phase workloads share (test/gpu/phases.py, test/gpu/phases2.py): GPU
loops, and the host-only ones (CPU, disk, sleep) with the GPU left idle."""
import mmap
import os
import tempfile
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


def cpu(until):
    """Single-threaded Python arithmetic: one host thread saturated, the GPU idle."""
    x = 0
    while time.perf_counter() < until:
        x += sum(range(1000))


def sleep(until):
    time.sleep(max(0.0, until - time.perf_counter()))


def disk_file():
    """2 GiB of data, written and synced before the phases, read back with O_DIRECT (no page cache)."""
    fd, path = tempfile.mkstemp(dir=os.environ.get("PHASES_DIR", "/var/tmp"))
    chunk = os.urandom(1 << 20)
    for _ in range(2048):
        os.write(fd, chunk)
    os.fsync(fd)
    os.close(fd)
    return path


def disk(until, path):
    """O_DIRECT reads 1 MiB at a time, from the start again at the end: the disk sets the pace."""
    buf = mmap.mmap(-1, 1 << 20)
    while time.perf_counter() < until:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        try:
            while time.perf_counter() < until and os.readv(fd, [buf]) > 0:
                pass
        finally:
            os.close(fd)
