#!/usr/bin/env python3
"""A seed-shaped workload for real GPUs: Wan-like logging, 20 denoise steps of transformer blocks
with Ulysses all_to_all around attention, FSDP2 when there is more than one rank, stagewatch
stage marks, optional spans and traced collectives, and its OWN CUDA-event timing of every
all_to_all and every step (ground truth to check the report against).

    torchrun --nproc-per-node 2 test/gpu/seed_workload.py            # NCCL, FSDP2
    python3 test/gpu/seed_workload.py                                 # one process, NCCL too

Under `stagewatch-agent run ... --preset wan -- torchrun ...` its stages and spans reach the
collector. Knobs (environment):
  SPANS=1        spans: attn and ffn (compute) per block, qkv/out all_to_all (communication)
  TRACE=1        stagewatch.trace_collectives(): all_to_all (tagged qkv/out) and FSDP's
                 all_gather / reduce_scatter become spans without explicit span() calls
  STEP_CUDA=0    steps host-marked only (stage(..., cuda=False)); by default stagewatch.stage("denoise_step",
                 step=i) also times each step with CUDA events (a `step` span), so the report's step
                 durations are on the spans' clock; with 0 the report derives them from span ends
  FSDP_OFF=1     no FSDP even with several ranks;  FFN_ONLY=1  FSDP wraps only the FFNs
  A2A_GATE=1     all_to_all on a side stream, gated by events in and out
  STEPS=20 LAYERS=8 DIM=2048 HEADS=16 SEQ=16384 (total tokens, split over ranks)
  GT_DIR=./seed-gt   where gt-<config>-rank<r>.json goes;  CONFIG=name  (default from the knobs)
Only rank 0 logs, as Wan does. Needs torch with CUDA and NCCL; tqdm if installed (else it prints
tqdm-shaped lines itself and says so on stderr).
"""
import datetime
import json
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
for rel in (("..", ".."), ()):  # in the repository (test/gpu/) or carried beside agent/clients/python
    sys.path.insert(0, os.path.join(here, *rel, "agent", "clients", "python"))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import stagewatch  # noqa: E402


def env_int(name, default):
    return int(os.environ.get(name, default))


SPANS = os.environ.get("SPANS") == "1"
TRACE = os.environ.get("TRACE") == "1"
FSDP_OFF = os.environ.get("FSDP_OFF") == "1"
FFN_ONLY = os.environ.get("FFN_ONLY") == "1"
A2A_GATE = os.environ.get("A2A_GATE") == "1"
STEP_CUDA = os.environ.get("STEP_CUDA", "1") != "0"
STEPS = env_int("STEPS", 20)
LAYERS = env_int("LAYERS", 8)
DIM = env_int("DIM", 2048)
HEADS = env_int("HEADS", 16)
SEQ = env_int("SEQ", 16384)

WORLD = env_int("WORLD_SIZE", 1)
RANK = env_int("RANK", 0)
LOCAL = env_int("LOCAL_RANK", 0)


def log(msg):
    if RANK == 0:
        now = datetime.datetime.now()
        print(f"[{now:%Y-%m-%d %H:%M:%S},{now.microsecond // 1000:03d}] INFO: {msg}", flush=True)


class GroundTruth:
    """The workload's own CUDA events around each all_to_all and each step, on the stream the
    work runs on; read once at the end (one synchronize, after the timed loop)."""

    def __init__(self):
        self.step = None
        self.a2a = []  # (step, name, start, end)
        self.steps = []  # (step, start, end, host_ms)

    @staticmethod
    def event():
        ev = torch.cuda.Event(enable_timing=True)
        ev.record()
        return ev

    def dump(self, path, config):
        torch.cuda.synchronize()
        per_step = {}
        for step, start, end, host_ms in self.steps:
            per_step[step] = {"step": step, "step_ms": start.elapsed_time(end), "host_step_ms": host_ms, "all_to_all": {}}
        for step, name, start, end in self.a2a:
            row = per_step.get(step)
            if row is None:
                continue
            a = row["all_to_all"].setdefault(name, {"count": 0, "ms": 0.0})
            a["count"] += 1
            a["ms"] += start.elapsed_time(end)
        rows = [per_step[k] for k in sorted(per_step)]
        names = sorted({n for r in rows for n in r["all_to_all"]})
        out = {
            "config": config, "rank": RANK, "world": WORLD, "spans": SPANS, "trace": TRACE, "fsdp": fsdp_on(),
            "ffn_only": FFN_ONLY, "a2a_gate": A2A_GATE, "step_cuda": STEP_CUDA, "layers": LAYERS, "dim": DIM, "heads": HEADS, "seq": SEQ,
            "torch": torch.__version__, "device": torch.cuda.get_device_name(),
            "median_step_ms": statistics.median(r["step_ms"] for r in rows),
            "mean_step_ms": statistics.fmean(r["step_ms"] for r in rows),
            "median_host_step_ms": statistics.median(r["host_step_ms"] for r in rows),
            "all_to_all_per_step_mean_ms": {n: statistics.fmean(r["all_to_all"].get(n, {"ms": 0.0})["ms"] for r in rows) for n in names},
            "stagewatch": stagewatch.stats(),
            "steps": rows,
        }
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        return out


GT = GroundTruth()
COMM_STREAM = None


def fsdp_on():
    return WORLD > 1 and not FSDP_OFF


def all_to_all(name, t):
    """Ulysses all_to_all over dim 0 (one chunk per rank), timed by the ground truth and, as the
    knobs say, by stagewatch (an explicit span, or the traced collective under a tag)."""
    out = torch.empty_like(t)

    def call():
        start = GT.event()
        if TRACE:
            with stagewatch.tag(name):
                dist.all_to_all_single(out, t)
        elif SPANS:
            with stagewatch.span(f"{name}_all_to_all", category="communication"):
                dist.all_to_all_single(out, t)
        else:
            dist.all_to_all_single(out, t)
        GT.a2a.append((GT.step, f"{name}_all_to_all", start, GT.event()))

    if not A2A_GATE:
        call()
        return out
    ready = torch.cuda.Event()
    ready.record()
    with torch.cuda.stream(COMM_STREAM):
        COMM_STREAM.wait_event(ready)
        call()
        t.record_stream(COMM_STREAM)
        out.record_stream(COMM_STREAM)
        done = torch.cuda.Event()
        done.record(COMM_STREAM)
    torch.cuda.current_stream().wait_event(done)
    return out


def compute_span(name):
    return stagewatch.span(name, category="compute") if SPANS else _Null()


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim))

    def forward(self, x):
        b, s_local, dim = x.shape
        p, hd = WORLD, dim // self.heads
        hp = self.heads // p
        with compute_span("attn"):
            qkv = self.qkv(self.norm1(x)).view(b, s_local, 3, p, hp, hd)
            send = qkv.permute(3, 1, 0, 2, 4, 5).contiguous()  # [p, s_local, b, 3, hp, hd]
        recv = all_to_all("qkv", send)  # [p (sequence chunk), s_local, b, 3, hp, hd]
        with compute_span("attn"):
            full = recv.reshape(p * s_local, b, 3, hp, hd).permute(2, 1, 3, 0, 4)  # [3, b, hp, s, hd]
            o = F.scaled_dot_product_attention(full[0], full[1], full[2])  # [b, hp, s, hd]
            send = o.permute(2, 0, 1, 3).reshape(p, s_local, b, hp, hd).contiguous()
        recv = all_to_all("out", send)  # [p (head group), s_local, b, hp, hd]
        with compute_span("attn"):
            o = recv.permute(2, 1, 0, 3, 4).reshape(b, s_local, dim)
            x = x + self.proj(o)
        with compute_span("ffn"):
            x = x + self.ffn(self.norm2(x))
        return x


def build_model():
    model = nn.Sequential(*[Block(DIM, HEADS) for _ in range(LAYERS)]).to("cuda", torch.bfloat16).eval()
    if fsdp_on():
        try:
            from torch.distributed.fsdp import fully_shard
        except ImportError:
            from torch.distributed._composable.fsdp import fully_shard
        for block in model:
            fully_shard(block.ffn if FFN_ONLY else block)
        if not FFN_ONLY:  # ffn_only: everything but the FFNs stays replicated on every rank
            fully_shard(model)
    return model


def progress(iterable, total):
    try:
        from tqdm import tqdm
    except ImportError:
        print("seed_workload: tqdm is not installed; printing tqdm-shaped progress lines", file=sys.stderr)
        return _progress_lines(iterable, total)
    return tqdm(iterable, total=total, disable=RANK != 0)


def _progress_lines(iterable, total):
    for i, x in enumerate(iterable):
        yield x
        if RANK == 0:
            done = i + 1
            print(f"{100 * done // total:3d}%|{'#' * (20 * done // total):<20}| {done}/{total}", file=sys.stderr, flush=True)


def main():
    global COMM_STREAM
    config = os.environ.get("CONFIG") or "_".join(
        [("fsdp_ffn_only" if FFN_ONLY else "fsdp") if fsdp_on() else "plain"] + (["a2a_gate"] if A2A_GATE else []) + (["trace"] if TRACE else []) + (["spans"] if SPANS else [])
    )
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29513")
    torch.cuda.set_device(LOCAL)
    dist.init_process_group("nccl", rank=RANK, world_size=WORLD)
    assert HEADS % WORLD == 0 and SEQ % WORLD == 0, "HEADS and SEQ must divide by the world size"
    if TRACE:
        stagewatch.trace_collectives()
    COMM_STREAM = torch.cuda.Stream()
    torch.manual_seed(0)
    with stagewatch.stage("request"):
        with stagewatch.stage("init"):
            log(f"Creating WanModel (seed-shaped: {LAYERS} blocks, dim {DIM}, {HEADS} heads, world {WORLD}, config {config})")
            model = build_model()
            x = torch.randn(1, SEQ // WORLD, DIM, device="cuda", dtype=torch.bfloat16)
            with torch.no_grad():
                model(x)  # warm-up: NCCL communicators, cuBLAS, the FSDP all-gathers
            torch.cuda.synchronize()
        with stagewatch.stage("t5_encode"):
            log("loading T5 encoder; encoding prompt")
            text = torch.randn(512, 4096, device="cuda", dtype=torch.bfloat16)
            for _ in range(20):
                text = torch.tanh(text @ torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16) * 0.01)
            torch.cuda.synchronize()
        log(f"Generating video ... sampling {STEPS} steps")
        with stagewatch.stage("denoise"), torch.no_grad():
            for i in progress(range(STEPS), STEPS):
                GT.step = i
                t0 = time.perf_counter()
                start = GT.event()
                # Host marks, and (STEP_CUDA) the step timed by CUDA events on this stream: the
                # host runs ahead of the GPU, so only the latter is the step's GPU time.
                with stagewatch.stage("denoise_step", step=i, cuda=STEP_CUDA):
                    x = model(x)
                GT.steps.append((i, start, GT.event(), (time.perf_counter() - t0) * 1000))
            torch.cuda.synchronize()
        with stagewatch.stage("vae_decode"):
            log("Decoding latents with VAE")
            img = x.float().reshape(1, 1, -1, DIM)[:, :, :1024]
            conv = nn.Conv2d(1, 8, 3, padding=1).cuda()
            with torch.no_grad():
                for _ in range(50):
                    img = conv(img)[:, :1]
            torch.cuda.synchronize()
        with stagewatch.stage("save"):
            path = os.path.join(os.environ.get("GT_DIR", "./seed-gt"), f"out-rank{RANK}.pt")
            log(f"Saving generated video to {path}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.save(img.cpu(), path)
    stagewatch.flush(10)
    gt = GT.dump(os.path.join(os.environ.get("GT_DIR", "./seed-gt"), f"gt-{config}-rank{RANK}.json"), config)
    log(f"ground truth: median step {gt['median_step_ms']:.3f} ms, all_to_all per step {json.dumps({k: round(v, 3) for k, v in gt['all_to_all_per_step_mean_ms'].items()})}, stagewatch {json.dumps(gt['stagewatch'])}")
    dist.barrier()
    dist.destroy_process_group()
    log("Finished.")


if __name__ == "__main__":
    main()
