#!/usr/bin/env python3
"""Host cost of the Python marks client per call, with its sender thread running and posting to
a marks endpoint in another process (so only the client's own thread shares the GIL).

    python3 test/bench/python-client.py [--n 200000]

Prints the median and p99 in microseconds of: mark() (one stage mark), span() enter+exit on the
host path (no torch here: CUDA spans add two event records, measured on a GPU), a traced
collective's wrapper around a no-op, and the same calls with no agent (no-op path). Each call
is timed alone with perf_counter_ns, so the figures include the timer's own cost (~0.1 us); the
buffer is flushed (untimed) every 20000 calls so no call takes the drop path (`dropped` stays 0).
The last line is JSON for test/bench/run.mjs.
"""
import argparse
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "agent", "clients", "python"))

SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = len(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200); self.end_headers(); self.wfile.write(b'{}')
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def pct(sorted_ns, p):
    return sorted_ns[min(len(sorted_ns) - 1, int(p * len(sorted_ns)))] / 1000


def timed(fn, n, flush=None):
    """Times each call alone. `flush` runs (untimed) every 20000 calls: a tight loop makes marks
    faster than any workload does, and the buffer must not overflow into the drop path."""
    pc = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        if flush is not None and i % 20000 == 0:
            flush()
        t = pc()
        fn(i)
        out[i] = pc() - t
    out.sort()
    return {"median_us": round(pct(out, 0.5), 3), "p99_us": round(pct(out, 0.99), 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    n = ap.parse_args().n
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        os.environ["STAGEWATCH_MARKS_URL"] = f"http://127.0.0.1:{port}/marks"
        import stagewatch

        def fake_collective(output, input, group=None, async_op=False):
            return None

        import types
        dist = types.SimpleNamespace(all_to_all_single=fake_collective)
        stagewatch.trace_collectives([dist])

        res = {"n": n}
        # Warm up: the sender thread starts, names are cached.
        for i in range(2000):
            stagewatch.mark("begin", "warm", step=i)
        stagewatch.flush(10)
        fl = lambda: stagewatch.flush(30)  # noqa: E731
        res["mark"] = timed(lambda i: stagewatch.mark("begin", "denoise_step", step=i), n, fl)
        stagewatch.flush(30)

        def one_span(i):
            with stagewatch.span("attn", step=i, category="compute"):
                pass

        res["span"] = timed(one_span, n, fl)
        stagewatch.flush(30)

        def collective(i):
            with stagewatch.tag("qkv"):
                dist.all_to_all_single(None, None)

        res["collective_with_tag"] = timed(collective, n, fl)
        t0 = time.perf_counter()
        ok = stagewatch.flush(60)
        res["final_flush_s"] = round(time.perf_counter() - t0, 3)
        st = stagewatch.stats()
        res["sent_lines"] = st["sent"]
        res["dropped"] = st["dropped"]
        res["flushed"] = ok
        stagewatch.configure(url="")
        res["mark_disabled"] = timed(lambda i: stagewatch.mark("begin", "denoise_step", step=i), n)
        res["span_disabled"] = timed(one_span, n)
        res["python"] = sys.version.split()[0]
    finally:
        server.kill()
        server.wait()
    for k in ("mark", "span", "collective_with_tag", "mark_disabled", "span_disabled"):
        print(f"{k:22s} median {res[k]['median_us']:7.3f} us   p99 {res[k]['p99_us']:7.3f} us", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
