"""Unit tests of the marks client, standard library only (no torch): python3 -m unittest
discover -s agent/clients/python. CUDA is played by a fake GPU clock passed in."""
import http.server
import json
import os
import subprocess
import sys
import threading
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stagewatch  # noqa: E402
from stagewatch import Anchor, Client, anchor_due, best_anchor, choose_anchor, drift_ms, resolve_ms  # noqa: E402


class FakeClock:
    """Host wall clock in ms, moved by the test."""

    def __init__(self, now=1_700_000_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, ms):
        self.now += ms


class FakeGpu:
    """A GPU timer that runs `ppm` fast against the host and executes work `lag_ms` after it is
    enqueued; `probe_gap_ms` is how long an anchor probe takes on the host."""

    def __init__(self, clock, ppm=0.0, lag_ms=5.0, probe_gap_ms=0.02):
        self.clock = clock
        self.ppm = ppm
        self.lag_ms = lag_ms
        self.probe_gap_ms = probe_gap_ms
        self.origin = clock.now

    def gpu_time(self, host_ms):
        return (host_ms - self.origin) * (1 + self.ppm * 1e-6) + 12345.0


class FakeEvent:
    def __init__(self, gpu):
        self.gpu = gpu
        self.host_done = None
        self.gpu_t = None

    def record(self, stream=None):
        self.host_done = self.gpu.clock.now + self.gpu.lag_ms
        self.gpu_t = self.gpu.gpu_time(self.host_done)

    def query(self):
        return self.gpu.clock.now >= self.host_done

    def elapsed_time(self, other):
        assert self.query() and other.query(), "elapsed_time on an unfinished event"
        return other.gpu_t - self.gpu_t


class FakeTimeline:
    def __init__(self, gpu):
        self.gpu = gpu
        self.probes = 0

    def event(self):
        return FakeEvent(self.gpu)

    def release(self, ev):
        pass

    def probe(self, clock_ms):
        self.probes += 1
        before = clock_ms()
        ev = FakeEvent(self.gpu)
        # An idle side stream: the event passes at once, inside the bracket.
        ev.host_done = before + self.gpu.probe_gap_ms / 2
        ev.gpu_t = self.gpu.gpu_time(ev.host_done)
        self.gpu.clock.advance(self.gpu.probe_gap_ms)
        return Anchor(ev, before, clock_ms())


class FakeTorch:
    def __init__(self, up=True):
        self.up = up

    def cuda(self):
        return self.up

    @staticmethod
    def gauges():
        return None


def lines_of(bodies):
    return [json.loads(line) for b in bodies for line in b.decode().split("\n") if line]


class Collect:
    """A post function that keeps bodies."""

    def __init__(self):
        self.bodies = []

    def __call__(self, url, body):
        self.bodies.append(body)
        return None


class AnchorMathTest(unittest.TestCase):
    def test_anchor_is_the_midpoint_of_its_bracket(self):
        a = Anchor(None, 100.0, 100.04)
        self.assertAlmostEqual(a.host_ms, 100.02)
        self.assertAlmostEqual(a.err_ms, 0.02)

    def test_best_anchor_is_the_tightest_bracket(self):
        probes = [Anchor("a", 0.0, 0.5), Anchor("b", 1.0, 1.01), Anchor("c", 2.0, 2.2)]
        self.assertEqual(best_anchor(probes).event, "b")
        self.assertIsNone(best_anchor([]))

    def test_choose_anchor_takes_the_latest_before_or_the_first_after(self):
        a1, a2, a3 = Anchor(1, 0.0, 1.0), Anchor(2, 10.0, 11.0), Anchor(3, 50.0, 51.0)
        self.assertEqual(choose_anchor([a1, a2, a3], 20.0, None, 100), (a2, "before"))
        # Enqueued before any anchor completed: only an anchor recorded after it finished will do.
        self.assertIsNone(choose_anchor([a2, a3], 5.0, None, 100))
        self.assertIsNone(choose_anchor([a2, a3], 5.0, 60.0, 100))
        self.assertEqual(choose_anchor([a2, a3], 5.0, 40.0, 100), (a3, "after"))
        # An anchor too old for the event is not used: drift would build up.
        self.assertIsNone(choose_anchor([a1], 500.0, None, 100))
        self.assertEqual(choose_anchor([a1, a3], 500.0, 45.0, 100), (a3, "after"))

    def test_resolve_on_either_side(self):
        self.assertEqual(resolve_ms(1000.0, 2.5, "before"), 1002.5)
        self.assertEqual(resolve_ms(1000.0, 2.5, "after"), 997.5)

    def test_drift_is_where_the_gpu_puts_the_new_anchor_against_the_host(self):
        prev, new = Anchor(None, 0.0, 0.0), Anchor(None, 2000.0, 2000.0)
        # The GPU counted 2000.2 ms where the host counted 2000: host is 0.2 ms behind the GPU.
        self.assertAlmostEqual(drift_ms(prev, new, 2000.2), -0.2)

    def test_anchor_due(self):
        a = Anchor(None, 0.0, 1.0)
        self.assertTrue(anchor_due(0.0, [], 2000, False))
        self.assertFalse(anchor_due(1500.0, [a], 2000, False))
        self.assertTrue(anchor_due(2001.0, [a], 2000, False))
        self.assertTrue(anchor_due(10.0, [a], 2000, True))


def cuda_client(clock, gpu, **kw):
    post = Collect()
    c = Client("http://marks", rank=1, clock_ms=clock, timeline=FakeTimeline(gpu), torch=FakeTorch(), post=post, warn=lambda m: None, **kw)
    c.thread = object()  # no sender thread: the test pumps by hand
    return c, post


class CudaSpanTest(unittest.TestCase):
    def test_span_times_are_the_gpu_execution_times_not_the_launch(self):
        clock = FakeClock()
        gpu = FakeGpu(clock, lag_ms=5.0)
        c, post = cuda_client(clock, gpu)
        launch = clock.now
        frame = c.begin_span("qkv_all_to_all", 3, "communication", True)
        clock.advance(0.01)  # the launch returns at once; the GPU runs it 5 ms later
        c.end_span(frame)
        c.pump()
        self.assertEqual(post.bodies, [])  # not finished on the GPU yet: nothing sent
        self.assertEqual(c.stats()["pending_cuda"], 1)
        clock.advance(10)
        c.pump()
        b, e = lines_of(post.bodies)
        self.assertEqual((b["kind"], b["stage"], b["step"], b["rank"], b["timing"], b["category"]), ("begin", "qkv_all_to_all", 3, 1, "cuda", "communication"))
        self.assertEqual(e["kind"], "end")
        # Within the anchor's error (10 µs) of when the fake GPU ran it.
        self.assertAlmostEqual(b["t"], launch + 5.0, delta=0.011)
        self.assertAlmostEqual(e["t"] - b["t"], 0.01, delta=0.002)

    def test_reanchors_against_drift(self):
        clock = FakeClock()
        gpu = FakeGpu(clock, ppm=100.0, lag_ms=1.0)  # 100 ppm: 0.2 ms over 2 s
        c, post = cuda_client(clock, gpu, anchor_s=2.0)
        errors = []
        for i in range(20):
            start = clock.now
            c.end_span(c.begin_span("step_work", i, "compute", True))
            clock.advance(900)
            c.pump()
            errors.append(abs(lines_of(post.bodies[-1:])[0]["t"] - (start + 1.0)))
        self.assertGreater(c.timeline.probes, 5)
        # Each span resolves against an anchor at most 2 anchor intervals old: error <= 4 s x 100 ppm.
        self.assertLess(max(errors), 0.4 + 0.02)
        self.assertIsNotNone(c.stats()["drift_ms"])
        self.assertLess(abs(c.stats()["drift_ms"]), 0.4)
        self.assertLessEqual(c.stats()["anchors"], 2)

    def test_a_stage_with_a_step_is_also_timed_on_the_gpu(self):
        clock = FakeClock()
        gpu = FakeGpu(clock, lag_ms=40.0)  # the host queues the step 40 ms before the GPU runs it
        post = Collect()
        stagewatch.configure(url="http://marks", rank=0, post=post, flush_s=3600, clock_ms=clock, timeline=FakeTimeline(gpu), torch=FakeTorch())
        try:
            host0 = clock.now
            with stagewatch.stage("denoise_step", step=3):
                clock.advance(8)  # the host's step: 8 ms of launches
            with stagewatch.stage("init"):  # no step: host marks only
                pass
            with stagewatch.stage("denoise_step", step=4, cuda=False):
                pass
            clock.advance(100)
            self.assertTrue(stagewatch.flush(1))
            lines = lines_of(post.bodies)
            host = [(x["kind"], x["stage"], x.get("step")) for x in lines if "timing" not in x]
            self.assertEqual(host, [("begin", "denoise_step", 3), ("end", "denoise_step", 3), ("begin", "init", None), ("end", "init", None), ("begin", "denoise_step", 4), ("end", "denoise_step", 4)])
            gpu_lines = [x for x in lines if "timing" in x]
            self.assertEqual([(x["kind"], x["stage"], x["step"], x["timing"], x["category"]) for x in gpu_lines], [
                ("begin", "denoise_step", 3, "cuda", stagewatch.STEP_CATEGORY), ("end", "denoise_step", 3, "cuda", "step"),
            ])
            # On the GPU's clock: 40 ms after the host began it.
            self.assertAlmostEqual(gpu_lines[0]["t"], host0 + 40.0, delta=0.011)
            self.assertAlmostEqual(gpu_lines[1]["t"] - gpu_lines[0]["t"], 8.0, delta=0.002)
        finally:
            stagewatch.configure(url="")

    def test_without_cuda_a_stage_step_is_host_marks_only(self):
        post = Collect()
        stagewatch.configure(url="http://marks", post=post, flush_s=3600, torch=FakeTorch(up=False))
        try:
            with stagewatch.stage("denoise_step", step=0):
                with stagewatch.span("attn", category="compute"):
                    pass
            self.assertTrue(stagewatch.flush(1))
            self.assertEqual([(x["stage"], x.get("timing"), x.get("category")) for x in lines_of(post.bodies)], [
                ("denoise_step", None, None), ("attn", "host", "compute"), ("attn", "host", "compute"), ("denoise_step", None, None),
            ])
        finally:
            stagewatch.configure(url="")

    def test_without_cuda_the_span_is_host_timed_and_says_so(self):
        clock = FakeClock()
        post = Collect()
        c = Client("http://marks", clock_ms=clock, timeline=FakeTimeline(FakeGpu(clock)), torch=FakeTorch(up=False), post=post)
        c.thread = object()
        t0 = clock.now
        f = c.begin_span("attn", 0, "compute", True)
        clock.advance(3)
        c.end_span(f)
        c.pump()
        b, e = lines_of(post.bodies)
        self.assertEqual((b["timing"], e["timing"]), ("host", "host"))
        self.assertEqual((b["t"], e["t"]), (t0, t0 + 3))


class BufferTest(unittest.TestCase):
    def test_a_full_buffer_drops_counts_and_reports_later(self):
        warnings = []
        post = Collect()
        c = Client("http://marks", max_buffer=5, post=post, warn=warnings.append, torch=FakeTorch(up=False))
        c.thread = object()
        for i in range(8):
            c.push(("m", "begin", "s%d" % i, 1000.0 + i, None, None))
        self.assertEqual(c.stats()["dropped"], 3)
        self.assertEqual(len(warnings), 1)
        c.pump()
        lines = lines_of(post.bodies)
        self.assertEqual([x["stage"] for x in lines], ["s0", "s1", "s2", "s3", "s4"])
        self.assertEqual(lines[0]["dropped"], 3)
        self.assertNotIn("dropped", lines[1])
        c.push(("m", "end", "s0", 2000.0, None, None))
        c.pump()
        self.assertNotIn("dropped", lines_of(post.bodies[-1:])[0])

    def test_undeliverable_batches_count_as_dropped_and_warn_once(self):
        warnings = []
        c = Client("http://marks", post=lambda u, b: "connection refused", warn=warnings.append, torch=FakeTorch(up=False))
        c.thread = object()
        for _ in range(2):
            c.push(("m", "begin", "x", 1.0, None, None))
            c.pump()
        self.assertEqual(c.stats()["dropped"], 2)
        self.assertEqual(len(warnings), 1)
        self.assertIn("connection refused", warnings[0])

    def test_a_bad_name_is_dropped_alone_not_with_its_batch(self):
        post = Collect()
        c = Client("http://marks", post=post, warn=lambda m: None, torch=FakeTorch(up=False))
        c.thread = object()
        c.push(("m", "begin", "ok", 1.0, 2, {"torch_reserved_mib": 5.5}))
        c.push(("m", "begin", "bad\nname", 1.0, None, None))
        c.push(("s", "fine", 1, "bad category!", 1.0, 2.0))
        c.pump()
        lines = lines_of(post.bodies)
        self.assertEqual(lines, [{"kind": "begin", "stage": "ok", "t": 1.0, "step": 2, "gauges": {"torch_reserved_mib": 5.5}, "dropped": 3}])


class Server:
    """A marks endpoint on loopback that keeps the lines it receives; `gate` holds replies."""

    def __init__(self):
        self.lines = []
        self.posts = 0
        self.gate = threading.Event()
        self.gate.set()
        self.received = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.received.set()
                outer.gate.wait(10)
                outer.posts += 1
                outer.lines.extend(json.loads(x) for x in body.decode().split("\n") if x)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"accepted":1}')

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/marks" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class SenderTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()

    def tearDown(self):
        stagewatch.configure(url="")
        self.server.close()

    def test_marks_go_out_in_batches_from_the_thread_and_flush_waits_for_them(self):
        stagewatch.configure(url=self.server.url, flush_s=3600)
        for i in range(50):
            with stagewatch.stage("denoise_step", step=i):
                with stagewatch.span("attn", category="compute"):
                    pass
        self.assertEqual(self.server.lines, [])  # nothing sent by the caller itself
        self.assertTrue(stagewatch.flush(5))
        self.assertEqual(len(self.server.lines), 200)
        self.assertLessEqual(self.server.posts, 2)
        spans = [x for x in self.server.lines if x["stage"] == "attn"]
        self.assertEqual([x["step"] for x in spans[:4]], [0, 0, 1, 1])  # the enclosing stage's step
        self.assertEqual(spans[0]["timing"], "host")

    def test_marks_never_wait_for_a_slow_agent(self):
        self.server.gate.clear()  # the agent takes each request and does not answer
        c = stagewatch.configure(url=self.server.url, flush_s=0.001)
        stagewatch.mark("begin", "first")
        self.assertTrue(self.server.received.wait(10))  # the sender is inside a POST held open
        for i in range(1000):
            stagewatch.mark("begin", "more", step=i)
        # The caller got here while the sender sat in a POST the agent does not answer.
        self.assertGreaterEqual(c.stats()["buffered"], 999)
        self.server.gate.set()
        self.assertTrue(stagewatch.flush(10))
        self.assertEqual(len(self.server.lines), 1001)

    def test_set_step_and_tags_name_collectives(self):
        post = Collect()
        stagewatch.configure(url="http://marks", post=post, flush_s=3600, torch=FakeTorch(up=False))
        calls = []

        class Work:
            def wait(self):
                calls.append("wait")
                return True

        def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
            calls.append("a2a")
            return Work() if async_op else None

        def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
            calls.append("ag")
            return Work() if async_op else None

        def _all_gather_base(output_tensor, input_tensor, group=None, async_op=False):
            return fake.all_gather_into_tensor(output_tensor, input_tensor, group, async_op)  # as torch does

        fake = types.SimpleNamespace(all_to_all_single=all_to_all_single, all_gather_into_tensor=all_gather_into_tensor, _all_gather_base=_all_gather_base)
        self.assertEqual(stagewatch.trace_collectives([fake]), ["_all_gather_base", "all_gather_into_tensor", "all_to_all_single"])
        self.assertEqual(stagewatch.trace_collectives([fake]), [])  # twice is once
        stagewatch.set_step(7)
        with stagewatch.tag("qkv"):
            fake.all_to_all_single("out", "in")
        w = fake.all_gather_into_tensor("out", "in", None, True)  # async_op positional
        self.assertEqual(calls[:2], ["a2a", "ag"])
        self.assertTrue(w.wait())
        with stagewatch.stage("denoise_step", step=2):
            with stagewatch.tag("out"):
                fake.all_to_all_single("o", "i", async_op=False)
            fake._all_gather_base("o", "i")  # one span, though it calls all_gather_into_tensor
        self.assertTrue(stagewatch.flush(1))
        spans = [x for x in lines_of(post.bodies) if "timing" in x]
        self.assertEqual([(x["stage"], x["kind"], x["step"], x["category"]) for x in spans], [
            ("qkv_all_to_all", "begin", 7, "communication"), ("qkv_all_to_all", "end", 7, "communication"),
            ("all_gather", "begin", 7, "communication"), ("all_gather", "end", 7, "communication"),
            ("out_all_to_all", "begin", 2, "communication"), ("out_all_to_all", "end", 2, "communication"),
            ("all_gather", "begin", 2, "communication"), ("all_gather", "end", 2, "communication"),
        ])

    def test_decorator_and_disabled_client(self):
        post = Collect()
        stagewatch.configure(url="http://marks", post=post, flush_s=3600, torch=FakeTorch(up=False))

        @stagewatch.span("ffn", step=4, category="compute")
        def ffn(x):
            return x * 2

        self.assertEqual(ffn(21), 42)
        stagewatch.flush(1)
        self.assertEqual([(x["stage"], x["step"]) for x in lines_of(post.bodies)], [("ffn", 4), ("ffn", 4)])
        stagewatch.configure(url="")
        self.assertFalse(stagewatch.enabled())
        self.assertEqual(ffn(1), 2)  # a no-op without an agent
        with stagewatch.span("x"), stagewatch.stage("y"), stagewatch.tag("z"):
            stagewatch.mark("begin", "w")
        self.assertTrue(stagewatch.flush(0))

    def test_exit_flushes_what_is_buffered(self):
        script = (
            "import sys; sys.path.insert(0, %r)\n"
            "import stagewatch\n"
            "for i in range(300):\n"
            "    with stagewatch.span('s', step=i, category='compute'):\n"
            "        pass\n"
        ) % os.path.dirname(os.path.abspath(stagewatch.__file__))
        env = dict(os.environ, STAGEWATCH_MARKS_URL=self.server.url, STAGEWATCH_FLUSH_MS="3600000", RANK="2")
        r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.server.lines), 600)
        self.assertEqual({x["rank"] for x in self.server.lines}, {2})


if __name__ == "__main__":
    unittest.main()
