"""Two-GPU phases of known design, one stage each, for checking per-GPU states on real NCCL.

    stagewatch-agent run --interval-ms 100 ... -- torchrun --standalone --nproc_per_node 2 test/gpu/phases2.py [SECONDS]

Rank 0 marks the stages (both ranks start each phase together after a small all_reduce). Hosts
wait on blocking CUDA events (asleep, not spinning). test/gpu/phases2-design.json says which state
each GPU should be in.
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
import torch.distributed as dist  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
rank = int(os.environ["RANK"])
torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
dist.init_process_group("nccl")
dev = "cuda"
a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
# 1 GiB each way per all_to_all: large enough that NVLink, not launches, sets the pace.
send = torch.empty(512 << 20, device=dev, dtype=torch.bfloat16)
recv = torch.empty_like(send)
tiny = torch.zeros(1, device=dev)
flag = torch.zeros(1, device=dev)


def together():
    dist.all_reduce(flag)
    wait_gpu()


def matmuls(until):
    gpu_loops.matmuls(a, b, until)


def all_to_all(until):
    while time.perf_counter() < until:
        for _ in range(4):
            dist.all_to_all_single(recv, send)
        wait_gpu()


def barrier_wait(until):
    # Rank 0 computes; rank 1's all_reduce waits on the GPU for it (its host asleep).
    if rank == 0:
        matmuls(until)
    together()


def tiny_kernels(until):
    gpu_loops.tiny_kernels(tiny, until)


def cpu(until):
    gpu_loops.cpu(until)


def disk(until):
    gpu_loops.disk(until, path)


# Each rank reads its own file, written before the phases (2 GiB each).
path = gpu_loops.disk_file()
together()
matmuls(time.perf_counter() + 2)
together()
all_to_all(time.perf_counter() + 1)
together()
time.sleep(2)
phases = [("compute", matmuls), ("all_to_all", all_to_all), ("barrier_wait", barrier_wait), ("tiny_kernels", tiny_kernels), ("cpu", cpu), ("disk", disk)]
for name, fn in phases:
    together()
    start = time.perf_counter()
    if rank == 0:
        stagewatch.mark("begin", name)
    fn(start + SECONDS)
    together()
    if rank == 0:
        stagewatch.mark("end", name)
    time.sleep(1)
dist.destroy_process_group()
os.unlink(path)
if rank == 0:
    print("phases2 done", flush=True)
