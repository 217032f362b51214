"""Phases of known design for checking stagewatch's labels and shares on a real GPU.

Each phase is written to be limited by one thing; `truth.json` (argv[2]) records the designed
state shares per phase, `marks.jsonl` (argv[1]) the phase boundaries (epoch ns, the capture
marks form). Run under `stagewatch-agent run --tee samples.jsonl --marks marks.jsonl -- ...`.

Host threads wait on blocking CUDA events (cudaEventBlockingSync) so that a phase meant to keep
the host idle does not spin a core in cudaDeviceSynchronize: the spin would make it look
host-bound, which is not what the phase is designed to be.
"""
import json
import mmap
import os
import sys
import time

import torch

PHASE_S = float(os.environ.get("PHASE_S", "6"))
DEV = "cuda"
marks = open(sys.argv[1], "w")
truth = {}


def mark(kind, stage):
    marks.write(json.dumps({"t_ns": time.time_ns(), "kind": kind, "stage": stage}) + "\n")
    marks.flush()


def wait_gpu():
    ev = torch.cuda.Event(blocking=True)
    ev.record()
    ev.synchronize()


def phase(name, shares, body):
    """Runs body(deadline) for PHASE_S seconds between begin and end marks."""
    wait_gpu()
    mark("begin", name)
    body(time.time() + PHASE_S)
    wait_gpu()
    mark("end", name)
    truth[name] = shares
    time.sleep(0.5)  # a gap between phases, so no reading straddles two designs


# --- bodies -------------------------------------------------------------------------------------
a = torch.randn(8192, 8192, device=DEV, dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device=DEV, dtype=torch.bfloat16)


def compute(deadline):
    while time.time() < deadline:
        for _ in range(8):
            a @ b
        wait_gpu()


host_buf = torch.empty(512 * 2**20, dtype=torch.uint8).pin_memory()
dev_buf = torch.empty(512 * 2**20, dtype=torch.uint8, device=DEV)


def pcie_copy(deadline):
    while time.time() < deadline:
        dev_buf.copy_(host_buf, non_blocking=True)
        host_buf.copy_(dev_buf, non_blocking=True)
        wait_gpu()


CYCLES_PER_MS = 1_980_000  # H100/H200 boost clock; the spin only needs to be long, not exact


def gpu_wait(deadline):
    while time.time() < deadline:
        for _ in range(4):
            torch.cuda._sleep(50 * CYCLES_PER_MS)
        wait_gpu()


tiny = torch.zeros(256, device=DEV)


def launch_bound(deadline):
    while time.time() < deadline:
        for _ in range(2000):
            tiny.add_(1.0)
        wait_gpu()


def cpu_only(deadline):
    x = 0
    while time.time() < deadline:
        for i in range(100_000):
            x += i * i
    return x


def sleep_until(deadline):
    time.sleep(max(0.0, deadline - time.time()))


DISK_FILE = os.environ.get("DISK_FILE", "/var/tmp/stagewatch-phases.bin")
DISK_MIB = int(os.environ.get("DISK_MIB", "4096"))
CHUNK = 16 * 2**20


def write_disk_file():
    buf = os.urandom(CHUNK)
    with open(DISK_FILE, "wb") as f:
        for _ in range(DISK_MIB * 2**20 // CHUNK):
            f.write(buf)
        f.flush()
        os.fsync(f.fileno())


def disk_read(deadline):
    """O_DIRECT reads bypass the page cache, so every pass reaches the disk."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECT", 0)
    buf = mmap.mmap(-1, CHUNK)  # page aligned, as O_DIRECT needs
    try:
        fd = os.open(DISK_FILE, flags)
    except OSError:  # a file system without O_DIRECT: drop the cache after each pass instead
        flags = os.O_RDONLY
        fd = os.open(DISK_FILE, flags)
    try:
        while time.time() < deadline:
            if os.readv(fd, [buf]) < CHUNK:
                os.lseek(fd, 0, os.SEEK_SET)
                if not flags & getattr(os, "O_DIRECT", 0):
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cycle(parts):
    """Alternates bodies inside every second: parts = [(seconds, body), ...] summing to 1 s."""

    def body(deadline):
        while time.time() < deadline:
            for secs, fn in parts:
                fn(min(deadline, time.time() + secs))

    return body


# --- the run ------------------------------------------------------------------------------------
mark("begin", "setup")
compute(time.time() + 1)  # warm-up: cuBLAS handles, clocks up
write_disk_file()
mark("end", "setup")
time.sleep(1)

phase("compute", {"compute": 1.0}, compute)
phase("pcie_copy", {"communication": 1.0}, pcie_copy)
phase("gpu_wait", {"waiting": 1.0}, gpu_wait)
phase("launch_bound", {"host-bound": 1.0}, launch_bound)
phase("cpu_only", {"host-bound": 1.0}, cpu_only)
phase("disk_read", {"io": 1.0}, disk_read)
phase("idle", {"idle": 1.0}, sleep_until)
phase("mixed_compute_idle", {"compute": 0.6, "idle": 0.4}, cycle([(0.6, compute), (0.4, sleep_until)]))
phase("mixed_three", {"compute": 0.4, "host-bound": 0.3, "idle": 0.3}, cycle([(0.4, compute), (0.3, launch_bound), (0.3, sleep_until)]))

os.unlink(DISK_FILE)
with open(sys.argv[2], "w") as f:
    json.dump({"phase_s": PHASE_S, "gpu": torch.cuda.get_device_name(0), "phases": truth}, f, indent=1)
print("phases done", flush=True)
