"""Looks inside nvmlGpmSample_t (opaque) for times: which 8-byte words step with each 100 ms refresh.

    python3 test/gpu/gpm_layout.py OUT.json

Reads each sample buffer up to 64 KiB or the end of its memory mapping (from /proc/self/maps), for
three consecutive refreshes, and lists the words that change with their deltas.
"""
import ctypes
import json
import sys
import time

nvml = ctypes.CDLL("libnvidia-ml.so.1")
assert nvml.nvmlInit_v2() == 0
dev = ctypes.c_void_p()
assert nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(dev)) == 0


def readable(addr):
    for line in open("/proc/self/maps"):
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if lo <= addr < hi:
            return min(hi - addr, 65536)
    return 64


seen = []
last = None
t_end = time.time() + 1.5
while time.time() < t_end and len(seen) < 4:
    h = ctypes.c_void_p()
    nvml.nvmlGpmSampleAlloc(ctypes.byref(h))
    nvml.nvmlGpmSampleGet(dev, h)
    t = time.time()
    n = readable(h.value)
    raw = ctypes.string_at(h.value, n)
    ts = int.from_bytes(raw[8:16], "little")
    if ts != last:
        seen.append((t, n, raw))
        last = ts
    time.sleep(0.005)
n = min(s[1] for s in seen)
words = lambda raw: [int.from_bytes(raw[i:i + 8], "little") for i in range(0, n - 7, 8)]  # noqa: E731
W = [words(s[2]) for s in seen]
changing = []
for i in range(len(W[0])):
    vals = [w[i] for w in W]
    if len(set(vals)) > 1:
        changing.append({"offset": i * 8, "values": vals, "deltas": [b - a for a, b in zip(vals, vals[1:])]})
json.dump({"about": __doc__, "bytesRead": n, "hostTimes": [s[0] for s in seen], "changing": changing[:400], "changingCount": len(changing)}, open(sys.argv[1], "w"), indent=0)
print("read", n, "bytes; changing words", len(changing))
for c in changing[:40]:
    print(c["offset"], c["deltas"])
