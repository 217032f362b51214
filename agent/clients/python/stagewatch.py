"""stagewatch marks client: one file, Python standard library only.

Under `stagewatch-agent run`, the environment holds STAGEWATCH_MARKS_URL; this module posts stage
marks there. Outside it, every call is a no-op, so instrumented code runs anywhere.

    import stagewatch
    with stagewatch.stage("t5_encode"):
        context = t5(prompt)
    for i, t in enumerate(timesteps):
        with stagewatch.stage("denoise_step", step=i):
            ...
    stagewatch.mark("begin", "vae_decode", gauges={"latent_mib": 512})

Each mark carries the time it was taken (epoch ms) and, where torch is loaded, PyTorch's
reserved and allocated memory in MiB (torch_reserved_mib, torch_allocated_mib). The rank comes
from RANK (torchrun) when set. Failures to reach the agent are reported once on stderr and never
raise into the workload.
"""
import contextlib
import json
import os
import sys
import time
import urllib.request

_URL = os.environ.get("STAGEWATCH_MARKS_URL")
_RANK = os.environ.get("RANK")
_warned = False


def enabled():
    return bool(_URL)


def _torch_gauges():
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None
        mib = 1024 * 1024
        return {
            "torch_reserved_mib": torch.cuda.memory_reserved() / mib,
            "torch_allocated_mib": torch.cuda.memory_allocated() / mib,
            "torch_max_reserved_mib": torch.cuda.max_memory_reserved() / mib,
        }
    except Exception:  # a broken CUDA context must not break the workload
        return None


def _post(records):
    global _warned
    if not _URL:
        return
    body = "\n".join(json.dumps(r) for r in records).encode()
    req = urllib.request.Request(_URL, data=body, method="POST", headers={"content-type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            resp.read()
    except Exception as e:  # noqa: BLE001 - report, never raise into the workload
        detail = e.read().decode(errors="replace") if hasattr(e, "read") else str(e)
        if not _warned:
            print(f"stagewatch: marks not delivered to {_URL}: {detail}", file=sys.stderr)
            _warned = True


def mark(kind, stage_name, step=None, gauges=None):
    """Posts one begin or end mark now."""
    if not _URL:
        return
    rec = {"kind": kind, "stage": stage_name, "t": time.time_ns() / 1e6}
    if step is not None:
        rec["step"] = int(step)
    if _RANK is not None and _RANK.isdigit():
        rec["rank"] = int(_RANK)
    g = dict(_torch_gauges() or {})
    g.update(gauges or {})
    if g:
        rec["gauges"] = g
    _post([rec])


@contextlib.contextmanager
def stage(name, step=None, gauges=None):
    """Marks the begin and end of a stage around a block, even if the block raises."""
    mark("begin", name, step, gauges)
    try:
        yield
    finally:
        mark("end", name, step, gauges)

