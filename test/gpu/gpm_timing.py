"""When does a GPM sample see the GPU's work? A timing experiment on a real Hopper GPU.

    python3 test/gpu/gpm_timing.py OUT.json [PERIOD_MS]

NVML's GPM documentation says two nvmlGpmSampleGet calls should be 100 ms or more apart "due to the
internal sample refresh rate". The phases capture (test/fixtures/phases-h100/) showed GPM windows
lagging the marks and NVML's own utilization samples by 50-150 ms, and once a 0 reading inside
steady compute. This script measures it directly, with the truth known by design:

- a thread takes a GPM sample every 5 ms (the host clock before and after each call) and keeps
  them all, with the first bytes of each sample buffer (to see when the driver refreshed it);
- the main thread runs 300 ms of bf16 matmuls every second, five times, recording on the host
  clock when the first launch went out and when the last kernel had finished (blocking events);
- afterwards SM activity (metric 2) is computed for sample pairs 100 ms and 5 ms apart, so the
  edges seen through GPM can be set against the real ones.
"""
import ctypes
import json
import sys
import threading
import time

import torch

OUT = sys.argv[1]
nvml = ctypes.CDLL("libnvidia-ml.so.1")
assert nvml.nvmlInit_v2() == 0
dev = ctypes.c_void_p()
assert nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(dev)) == 0


class Metric(ctypes.Structure):
    _fields_ = [("metricId", ctypes.c_uint), ("nvmlReturn", ctypes.c_int), ("value", ctypes.c_double),
                ("shortName", ctypes.c_void_p), ("longName", ctypes.c_void_p), ("unit", ctypes.c_void_p)]


class MetricsGet(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("numMetrics", ctypes.c_uint), ("sample1", ctypes.c_void_p),
                ("sample2", ctypes.c_void_p), ("metrics", Metric * 98)]


def sm_active(s1, s2):
    g = MetricsGet()
    g.version = 1
    g.numMetrics = 1
    g.sample1 = s1
    g.sample2 = s2
    g.metrics[0].metricId = 2
    rc = nvml.nvmlGpmMetricsGet(ctypes.byref(g))
    if rc != 0:
        return {"rc": rc}
    return {"rc": g.metrics[0].nvmlReturn, "v": round(g.metrics[0].value, 2)}


PERIOD = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.005
SECONDS = 6.5
samples = []  # (handle, t_before, t_after, rc, head bytes hex)
stop = False


def sampler():
    nxt = time.time()
    while not stop:
        h = ctypes.c_void_p()
        nvml.nvmlGpmSampleAlloc(ctypes.byref(h))
        a = time.time()
        rc = nvml.nvmlGpmSampleGet(dev, h)
        b = time.time()
        head = ctypes.string_at(h.value, 64).hex() if rc == 0 else ""
        ts = int.from_bytes(ctypes.string_at(h.value + 8, 8), "little") / 1e9 if rc == 0 else 0.0
        samples.append((h, a, b, rc, head, ts))
        nxt += PERIOD
        time.sleep(max(0.0, nxt - time.time()))


a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)


def wait_gpu():
    ev = torch.cuda.Event(blocking=True)
    ev.record()
    ev.synchronize()


torch.matmul(a, b)
wait_gpu()
th = threading.Thread(target=sampler, daemon=True)
th.start()
time.sleep(1.0)
busy = []
for cycle in range(5):
    t_start = time.time()
    until = t_start + 0.3
    while time.time() < until:
        for _ in range(4):
            torch.matmul(a, b)
        wait_gpu()
    busy.append((t_start, time.time()))
    time.sleep(max(0.0, t_start + 1.0 - time.time()))
stop = True
th.join()

ok = [s for s in samples if s[3] == 0]
t0 = ok[0][1]
rel = lambda t: round((t - t0) * 1000, 2)  # noqa: E731
# Windows of ~100 ms: each sample against the first one at least 100 ms older.
w100 = []
j = 0
for i, s in enumerate(ok):
    while j + 1 < i and s[1] - ok[j + 1][2] >= 0.1:
        j += 1
    if s[1] - ok[j][2] >= 0.1:
        w100.append({"from": rel(ok[j][2]), "to": rel(s[1]), **sm_active(ok[j][0], s[0])})
# Consecutive pairs 5 ms apart: which come out 0, error, or real.
w5 = [{"from": rel(p[2]), "to": rel(s[1]), **sm_active(p[0], s[0])} for p, s in zip(ok, ok[1:])]
# When the first bytes of the sample change from one sample to the next.
changes = [rel(s[1]) for p, s in zip(ok, ok[1:]) if s[4] != p[4]]
# The driver's windows: one per refresh (bytes 8-15 of the sample, ns since the epoch), each
# set against the matmuls' busy time inside it, and when each refresh became readable.
refreshes = []
for s in ok:
    if not refreshes or s[5] != refreshes[-1][5]:
        refreshes.append(s)
steady = []
driver = []
for p, s in zip(refreshes, refreshes[1:]):
    busy_ms = sum(max(0.0, min(s[5], y) - max(p[5], x)) for x, y in busy) * 1000
    v = sm_active(p[0], s[0])
    dur = (s[5] - p[5]) * 1000
    driver.append({"from": rel(p[5]), "to": rel(s[5]), "busyShare": round(busy_ms / dur, 3), **v})
    if busy_ms >= dur - 0.5:
        steady.append(v.get("v", 0))
full = sorted(steady)[len(steady) // 2] if steady else None
err = [abs(d["v"] / full - d["busyShare"]) for d in driver if full and "v" in d]


def lag_error(lag_ms):
    # How far each driver window's SM activity is from the busy share of that window moved back by lag_ms.
    out = []
    for p, s in zip(refreshes, refreshes[1:]):
        a, b = p[5] - lag_ms / 1000, s[5] - lag_ms / 1000
        share = sum(max(0.0, min(b, y) - max(a, x)) for x, y in busy) / (b - a)
        v = sm_active(p[0], s[0]).get("v")
        if v is not None and full:
            out.append(abs(v / full - share))
    return (round(sum(out), 3), round(max(out), 3)) if out else None


fit = {lag: lag_error(lag) for lag in range(0, 152, 4)}
best = min((v[0], lag) for lag, v in fit.items() if v)[1] if full else None
json.dump({
    "refreshReadableAfterMs": sorted(round((s[1] - s[5]) * 1000, 1) for s in refreshes[1:])[len(refreshes) // 2],
    "refreshStepMs": sorted(round((s[5] - p[5]) * 1000, 2) for p, s in zip(refreshes, refreshes[1:]))[len(refreshes) // 2],
    "steadySmActive": full,
    "driverWindowsMaxError": round(max(err), 3) if err else None,
    "counterLagFitMs": best, "counterLagFit": fit,
    "calls": [[rel(s[1]), rel(s[2]), rel(s[5])] for s in ok[:200]],
    "driverWindows": driver,
    "about": __doc__,
    "periodMs": PERIOD * 1000,
    "samples": len(samples), "failed": len(samples) - len(ok),
    "sampleGetMs": sorted(round((s[2] - s[1]) * 1000, 3) for s in ok)[len(ok) // 2],
    "busy": [[rel(x), rel(y)] for x, y in busy],
    "headChangesAtMs": changes,
    "heads": [[rel(s[1]), s[4]] for s in ok[:80]],
    "w100": w100, "w5": w5,
}, open(OUT, "w"), indent=0)
print("samples", len(samples), "busy", [[rel(x), rel(y)] for x, y in busy], "head changes", len(changes))
print("refresh readable after (median ms)", sorted(round((s[1] - s[5]) * 1000, 1) for s in refreshes[1:])[len(refreshes) // 2],
      "steady SM", full, "driver windows: max |SM/steady - busy share|", round(max(err), 3) if err else None,
      "counter lag fit (ms)", best, fit.get(best))
