"""stagewatch marks client: one file, Python standard library only, torch optional.

Under `stagewatch-agent run`, the environment holds STAGEWATCH_MARKS_URL; marks go there. Outside
it, every call is a no-op, so instrumented code runs anywhere.

    import stagewatch
    with stagewatch.stage("t5_encode"):
        context = t5(prompt)
    for i, t in enumerate(timesteps):
        with stagewatch.stage("denoise_step", step=i):   # host marks + the step timed on the GPU
            with stagewatch.span("attention", category="compute"):   # GPU-timed
                ...
    stagewatch.mark("begin", "vae_decode", gauges={"latent_mib": 512})
    stagewatch.trace_collectives()           # or STAGEWATCH_TRACE_COLLECTIVES=1
    with stagewatch.tag("qkv"):
        dist.all_to_all_single(out, inp)     # -> span "qkv_all_to_all", category communication

The caller never waits on the network or the GPU: a mark is a tuple appended to a bounded
in-process buffer (a few microseconds); a daemon thread turns the buffer into JSON lines and
POSTs them in batches every STAGEWATCH_FLUSH_MS (200). A full buffer (STAGEWATCH_MAX_BUFFER,
100000) drops new marks and counts them; the count reaches the agent on a later mark
(`"dropped": n`, cumulative) and stderr once. The buffer is flushed at exit (atexit, up to
STAGEWATCH_EXIT_FLUSH_S, 5 s) and by `flush(timeout)`.

Spans (`span()`, traced collectives) are marks with `"timing"`: `cuda` where torch has CUDA up,
else `host`. A stage with a step (`stage("denoise_step", step=i)`) is also sent as a CUDA-timed
span of the same name with `"category":"step"` where CUDA is up (cuda=False: host marks only), so
the step's duration is on the same clock as its spans; `span(name, step=i, category="step")` does
the same without host marks. A CUDA span records a torch.cuda.Event on the current stream at enter and exit and
never synchronizes; the thread polls `event.query()` and turns finished events into wall-clock
times through an anchor: an event recorded on a side stream between two host clock readings
(its host time is their midpoint, right to within half their gap). Anchors are renewed every
STAGEWATCH_ANCHOR_S (2 s) so GPU/host clock drift stays small; `stats()["drift_ms"]` says how far
the last renewal moved. STAGEWATCH_NVTX=1 (or configure(nvtx=True)) adds NVTX ranges with the
span names, so Nsight timelines line up. Assumes one CUDA device per process (torchrun's way).

Stage marks carry PyTorch's reserved and allocated memory in MiB (torch_reserved_mib,
torch_allocated_mib, torch_max_reserved_mib) where CUDA is up; spans carry none (too costly per
span). The rank comes from RANK (torchrun). Failures never raise into the workload.
"""
import atexit
import collections
import functools
import inspect
import json
import os
import re
import sys
import threading
import time
import urllib.request

__all__ = [
    "enabled", "mark", "stage", "span", "tag", "set_step", "current_step", "flush", "stats",
    "trace_collectives", "configure", "COLLECTIVE_NAMES", "STEP_CATEGORY",
]

_NAME_OK = re.compile(r"^[A-Za-z0-9_.:/ -]{1,64}$")
_CATEGORY_OK = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
STEP_CATEGORY = "step"  # a span timing a whole step: what the report divides a step's spans by
_MAX_LINES = 4000  # per POST: the agent takes bodies up to 1 MiB, a span line is about 150 bytes


def _env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


# ---------------------------------------------------------------------------------------------
# Pure anchor math: an anchor is a CUDA event whose host (wall-clock) time is known to within err.


class Anchor:
    """An event recorded between host readings `before_ms` and `after_ms` and completed by then."""

    __slots__ = ("event", "before_ms", "after_ms")

    def __init__(self, event, before_ms, after_ms):
        self.event = event
        self.before_ms = before_ms
        self.after_ms = after_ms

    @property
    def host_ms(self):
        """Best estimate of when the GPU passed the event: the midpoint of the readings."""
        return (self.before_ms + self.after_ms) / 2

    @property
    def err_ms(self):
        return (self.after_ms - self.before_ms) / 2


def best_anchor(candidates):
    """Of several probes, the tightest (smallest bracket), as NTP keeps its best round trip."""
    return min(candidates, key=lambda a: a.after_ms - a.before_ms) if candidates else None


def choose_anchor(anchors, enqueued_ms, completed_ms, max_age_ms):
    """The anchor to resolve an event against, and on which side of it the event lies.

    An anchor known complete before the event was enqueued (after_ms <= enqueued_ms) precedes it
    on the GPU: ("before", latest such), if at most `max_age_ms` older, so drift stays small. An
    anchor recorded after the event was seen complete (before_ms >= completed_ms) follows it:
    ("after", earliest such). Either way the elapsed time read is positive. None: wait for a new
    anchor. `anchors` in time order; `completed_ms` None while the event is not done.
    """
    best = None
    for a in anchors:
        if a.after_ms <= enqueued_ms:
            best = a
    if best is not None and enqueued_ms - best.after_ms <= max_age_ms:
        return best, "before"
    if completed_ms is not None:
        for a in anchors:
            if a.before_ms >= completed_ms:
                return a, "after"
    return None


def resolve_ms(anchor_host_ms, elapsed_ms, side):
    """Wall-clock ms of an event `elapsed_ms` after ("before" anchor) or before ("after") it."""
    return anchor_host_ms + elapsed_ms if side == "before" else anchor_host_ms - elapsed_ms


def drift_ms(prev, new, gpu_elapsed_ms):
    """How far the host clock moved against the GPU's between two anchors: the new anchor's host
    time minus where the previous anchor and the GPU's elapsed time put it."""
    return new.host_ms - (prev.host_ms + gpu_elapsed_ms)


def anchor_due(now_ms, anchors, interval_ms, waiting_for_after):
    """A new anchor is due with none yet, when the latest is `interval_ms` old, or when events
    wait for one recorded after them."""
    return not anchors or waiting_for_after or now_ms - anchors[-1].after_ms >= interval_ms


# ---------------------------------------------------------------------------------------------
# Collective names: torch.distributed function -> span operation name.

COLLECTIVE_NAMES = {
    "all_to_all_single": "all_to_all",
    "all_to_all": "all_to_all",
    "all_gather_into_tensor": "all_gather",
    "_all_gather_base": "all_gather",
    "all_gather": "all_gather",
    "reduce_scatter_tensor": "reduce_scatter",
    "_reduce_scatter_base": "reduce_scatter",
    "reduce_scatter": "reduce_scatter",
    "all_reduce": "all_reduce",
    "broadcast": "broadcast",
    "reduce": "reduce",
}


def collective_span_name(op, tags):
    """`all_to_all` under tag("qkv") is `qkv_all_to_all`; nested tags join outermost first."""
    return "_".join(list(tags) + [op])


# ---------------------------------------------------------------------------------------------


class _Torch:
    """What the client needs from torch, looked up lazily: torch is never imported here, and
    CUDA is used only once the workload itself has initialised it (no context of our making)."""

    def __init__(self):
        self.ready = False

    def cuda(self):
        if self.ready:
            return True
        torch = sys.modules.get("torch")
        if torch is None:
            return False
        try:
            self.ready = bool(torch.cuda.is_available() and torch.cuda.is_initialized())
        except Exception:  # noqa: BLE001 - a broken CUDA setup means host timing
            self.ready = False
        return self.ready

    @staticmethod
    def gauges():
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
        except Exception:  # noqa: BLE001
            return None


class _CudaTimeline:
    """Events and anchors of the process's CUDA device, backed by torch."""

    def __init__(self):
        self._free = collections.deque()
        self._stream = None

    def event(self):
        try:
            return self._free.pop()
        except IndexError:
            return sys.modules["torch"].cuda.Event(enable_timing=True)

    def release(self, ev):
        if len(self._free) < 8192:
            self._free.append(ev)

    def probe(self, clock_ms):
        """Records an event on an idle side stream and waits for it (in the sender thread only;
        Event.synchronize releases the GIL), bracketed by host clock readings."""
        torch = sys.modules["torch"]
        if self._stream is None:
            self._stream = torch.cuda.Stream()
        ev = torch.cuda.Event(enable_timing=True)
        before = clock_ms()
        ev.record(self._stream)
        ev.synchronize()
        return Anchor(ev, before, clock_ms())


def _wall_ms():
    return time.time_ns() / 1e6


class Client:
    """Buffer, sender thread and CUDA-event resolution. The module keeps one, made from the
    environment; tests make their own with a fake clock and timeline."""

    def __init__(self, url, rank=None, max_buffer=100000, flush_s=0.2, anchor_s=2.0,
                 clock_ms=_wall_ms, timeline=None, torch=None, warn=None, post=None, nvtx=False):
        self.url = url
        self.rank = rank
        self.max_buffer = max_buffer
        self.flush_s = flush_s
        self.anchor_ms = anchor_s * 1000
        self.clock_ms = clock_ms
        self.timeline = timeline
        self.torch = torch or _Torch()
        self.nvtx = nvtx
        self._warn = warn or (lambda msg: print(f"stagewatch: {msg}", file=sys.stderr))
        self._post_fn = post or self._http_post
        self.buf = collections.deque()
        self.pending = []  # CUDA spans waiting for their events
        self.anchors = []
        self.lock = threading.Lock()  # taken by the sender (and flush), never by a mark
        self.drop_lock = threading.Lock()  # taken only when dropping
        self.wake = threading.Event()
        self.thread = None
        self.pid = os.getpid()
        self.dropped = 0
        self.dropped_sent = 0
        self.warned = set()
        self.counts = {"sent": 0, "posts": 0, "post_errors": 0, "unwaited": 0}
        self.drift_ms = None
        self.qnames = {}
        self._tls = threading.local()
        self.global_step = None

    # -- the caller's side: cheap, never blocks -------------------------------------------------

    def push(self, rec):
        if self.thread is None:
            self._start()
        if len(self.buf) < self.max_buffer:
            self.buf.append(rec)
        else:
            self._drop(1, "the marks buffer is full: marks are dropped and counted")

    def _drop(self, n, why):
        with self.drop_lock:
            self.dropped += n
        self._warn_once(why)

    def _warn_once(self, why):
        if why not in self.warned:
            self.warned.add(why)
            self._warn(why)

    def steps(self):
        st = getattr(self._tls, "steps", None)
        if st is None:
            st = self._tls.steps = []
        return st

    def tags(self):
        tg = getattr(self._tls, "tags", None)
        if tg is None:
            tg = self._tls.tags = []
        return tg

    def current_step(self):
        st = getattr(self._tls, "steps", None)
        return st[-1] if st else self.global_step

    def begin_span(self, name, step, category, cuda):
        """Opens a span: returns the frame end_span takes. CUDA spans record an event on the
        current stream; host spans read the clock."""
        if step is None:
            step = self.current_step()
        if self.nvtx:
            self._nvtx_push(name)
        if cuda and self.timeline is not None and self.torch.cuda():
            ev = self.timeline.event()
            ev.record()
            return (name, step, category, ev, self.clock_ms())
        return (name, step, category, None, self.clock_ms())

    def begin_step(self, name, step):
        """A GPU-timed step span (category STEP_CATEGORY) where CUDA is up; None otherwise, since
        the stage's host marks already time the step on the host clock."""
        if self.timeline is None or not self.torch.cuda():
            return None
        return self.begin_span(name, step, STEP_CATEGORY, True)

    def end_span(self, frame):
        name, step, category, ev0, t0 = frame
        if ev0 is not None:
            ev1 = self.timeline.event()
            ev1.record()
            self.push(("c", name, step, category, ev0, ev1, t0))
        else:
            self.push(("s", name, step, category, t0, self.clock_ms()))
        if self.nvtx:
            self._nvtx_pop()

    def _nvtx_push(self, name):
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                torch.cuda.nvtx.range_push(name)
            except Exception:  # noqa: BLE001
                pass

    def _nvtx_pop(self):
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                torch.cuda.nvtx.range_pop()
            except Exception:  # noqa: BLE001
                pass

    # -- the sender's side ----------------------------------------------------------------------

    def _start(self):
        with self.drop_lock:  # once, however many threads mark first at the same time
            if self.thread is None:
                t = threading.Thread(target=self._loop, name="stagewatch-sender", daemon=True)
                t.start()
                self.thread = t

    def _loop(self):
        while True:
            self.wake.wait(self.flush_s)
            self.wake.clear()
            try:
                with self.lock:
                    self.pump()
            except Exception as e:  # noqa: BLE001 - the sender must outlive any one failure
                self._warn_once(f"marks sender failed: {e}")

    def pump(self, final=False):
        """Moves the buffer into lines, resolves finished CUDA spans and POSTs. Holds self.lock."""
        lines = []
        buf = self.buf
        while True:
            try:
                rec = buf.popleft()
            except IndexError:
                break
            kind = rec[0]
            if kind == "c":
                self.pending.append([rec, None])
            elif kind == "s":
                _, name, step, category, t0, t1 = rec
                self._span_lines(lines, name, step, category, "host", t0, t1)
            else:
                _, mkind, name, t, step, gauges = rec
                line = self._line(mkind, name, t, step, None, None, gauges)
                if line is not None:
                    lines.append(line)
        if self.pending:
            self._resolve(lines, final)
        if lines:
            self._send(lines)

    def _resolve(self, lines, final):
        now = self.clock_ms()
        max_age = 2 * self.anchor_ms
        for item in self.pending:
            if item[1] is None:
                rec = item[0]
                try:
                    if rec[5].query() and rec[4].query():
                        item[1] = now
                except Exception:  # noqa: BLE001 - a failed query drops the span, counted
                    item[1] = False
        if any(it[1] is False for it in self.pending):
            self._drop(sum(2 for it in self.pending if it[1] is False), "a CUDA event could not be queried: span dropped")
            self.pending = [it for it in self.pending if it[1] is not False]
        waiting_after = any(it[1] is not None and choose_anchor(self.anchors, it[0][6], it[1], max_age) is None for it in self.pending)
        if self.pending and anchor_due(now, self.anchors, self.anchor_ms, waiting_after):
            self._new_anchor()
        keep = []
        for item in self.pending:
            rec, completed = item
            choice = None if completed is None else choose_anchor(self.anchors, rec[6], completed, max_age)
            if choice is None:
                keep.append(item)
                continue
            anchor, side = choice
            _, name, step, category, ev0, ev1, _t = rec
            try:
                if side == "before":
                    t0 = resolve_ms(anchor.host_ms, anchor.event.elapsed_time(ev0), side)
                    t1 = resolve_ms(anchor.host_ms, anchor.event.elapsed_time(ev1), side)
                else:
                    t0 = resolve_ms(anchor.host_ms, ev0.elapsed_time(anchor.event), side)
                    t1 = resolve_ms(anchor.host_ms, ev1.elapsed_time(anchor.event), side)
            except Exception:  # noqa: BLE001
                self._drop(2, "a CUDA span could not be timed: span dropped")
                continue
            self._span_lines(lines, name, step, category, "cuda", t0, t1)
            self.timeline.release(ev0)
            self.timeline.release(ev1)
        self.pending = keep
        # Anchors before the one the oldest pending span would use are no longer needed.
        oldest = min((it[0][6] for it in self.pending), default=None)
        while len(self.anchors) > 1 and (oldest is None or self.anchors[1].after_ms <= oldest):
            self.anchors.pop(0)

    def _new_anchor(self):
        try:
            probes = [self.timeline.probe(self.clock_ms) for _ in range(3)]
        except Exception as e:  # noqa: BLE001
            self._warn_once(f"no CUDA anchor: {e}")
            return
        new = best_anchor(probes)
        if self.anchors:
            prev = self.anchors[-1]
            try:
                self.drift_ms = drift_ms(prev, new, prev.event.elapsed_time(new.event))
            except Exception:  # noqa: BLE001
                pass
        self.anchors.append(new)

    def _qname(self, name):
        q = self.qnames.get(name)
        if q is None:
            q = json.dumps(name) if isinstance(name, str) and _NAME_OK.match(name) else ""
            self.qnames[name] = q
        return q

    def _span_lines(self, lines, name, step, category, timing, t0, t1):
        if category is not None and not (isinstance(category, str) and _CATEGORY_OK.match(category)):
            self._drop(2, f"span category {category!r} is not 1-32 letters, digits and _.-: span dropped")
            return
        a = self._line("begin", name, t0, step, timing, category, None)
        if a is None:
            return
        lines.append(a)
        lines.append(self._line("end", name, max(t0, t1), step, timing, category, None))

    def _line(self, kind, name, t, step, timing, category, gauges):
        """One JSON line, built by hand: json.dumps per mark costs the sender (and, through the
        GIL, the workload) several times more."""
        q = self._qname(name)
        if not q:
            self._drop(1, f"mark name {name!r} is not a stage name (1-64 letters, digits, space, _.:/-): dropped")
            return None
        s = '{"kind":"%s","stage":%s,"t":%.3f' % (kind, q, t)
        if step is not None:
            s += ',"step":%d' % step
        if self.rank is not None:
            s += ',"rank":%d' % self.rank
        if timing is not None:
            s += ',"timing":"%s"' % timing
        if category is not None:
            s += ',"category":"%s"' % category
        if gauges:
            s += ',"gauges":' + json.dumps(gauges)
        return s + "}"

    def _send(self, lines):
        for i in range(0, len(lines), _MAX_LINES):
            chunk = lines[i:i + _MAX_LINES]
            total = self.dropped
            if total > self.dropped_sent:
                chunk = [chunk[0][:-1] + ',"dropped":%d}' % total] + chunk[1:]
            err = None
            try:
                err = self._post_fn(self.url, ("\n".join(chunk) + "\n").encode())
            except Exception as e:  # noqa: BLE001
                err = str(e)
            self.counts["posts"] += 1
            if err is None:
                self.counts["sent"] += len(chunk)
                self.dropped_sent = max(self.dropped_sent, total)
            else:
                self.counts["post_errors"] += 1
                self._drop(len(chunk), f"marks not delivered to {self.url}: {err}")

    @staticmethod
    def _http_post(url, body):
        req = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/x-ndjson"})
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                resp.read()
            return None
        except Exception as e:  # noqa: BLE001
            return e.read().decode(errors="replace") if hasattr(e, "read") else str(e)

    def flush(self, timeout=5.0):
        """Sends what is buffered and waits for CUDA spans to finish, up to `timeout` seconds.
        True when nothing is left. Blocks the caller: call it between phases or at the end."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            if not self.lock.acquire(timeout=left):
                return False
            try:
                self.pump(final=True)
                empty = not self.buf and not self.pending
            finally:
                self.lock.release()
            if empty:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def stats(self):
        return {
            "buffered": len(self.buf), "pending_cuda": len(self.pending), "dropped": self.dropped,
            "anchors": len(self.anchors), "drift_ms": self.drift_ms, **self.counts,
        }

    def after_fork(self):
        """A forked child (a DataLoader worker) starts empty, with no sender thread of its own."""
        self.buf = collections.deque()
        self.pending = []
        self.anchors = []
        self.lock = threading.Lock()
        self.drop_lock = threading.Lock()
        self.wake = threading.Event()
        self.thread = None
        self.pid = os.getpid()


def _rank_from_env():
    r = os.environ.get("RANK")
    return int(r) if r is not None and r.isdigit() else None


_client = None


def configure(url=None, nvtx=None, **kw):
    """Replaces the module's client (tests, or a workload that sets the URL itself)."""
    global _client
    env_url = os.environ.get("STAGEWATCH_MARKS_URL")
    url = url if url is not None else env_url
    if not url:
        _client = None
        return None
    opts = dict(
        rank=_rank_from_env(),
        max_buffer=int(_env_float("STAGEWATCH_MAX_BUFFER", 100000)),
        flush_s=_env_float("STAGEWATCH_FLUSH_MS", 200) / 1000,
        anchor_s=_env_float("STAGEWATCH_ANCHOR_S", 2),
        timeline=_CudaTimeline(),
        nvtx=os.environ.get("STAGEWATCH_NVTX") == "1" if nvtx is None else bool(nvtx),
    )
    opts.update(kw)
    _client = Client(url, **opts)
    return _client


configure()


def enabled():
    return _client is not None


def mark(kind, stage_name, step=None, gauges=None):
    """Buffers one begin or end mark of a stage, stamped now."""
    c = _client
    if c is None:
        return
    g = _Torch.gauges()
    if gauges:
        g = dict(g or {})
        g.update(gauges)
    c.push(("m", kind, stage_name, c.clock_ms(), None if step is None else int(step), g))


class stage:
    """Marks the begin and end of a stage around a block, even if the block raises. A `step`
    becomes the current step for spans inside it.

    A stage with a `step` (a denoising step) is also timed on the GPU where torch has CUDA up
    and cuda=True: CUDA events on the current stream at enter and exit, sent as a span of the
    same name with category `step`. The host's begin/end marks time when the host queued the
    step, which runs ahead of the GPU; the report divides the step's spans by the GPU-timed step.
    """

    __slots__ = ("name", "step", "gauges", "cuda", "_frames")

    def __init__(self, name, step=None, gauges=None, cuda=True):
        self.name = name
        self.step = step
        self.gauges = gauges
        self.cuda = cuda
        self._frames = []

    def __enter__(self):
        mark("begin", self.name, self.step, self.gauges)
        c = _client
        if c is not None and self.step is not None:
            c.steps().append(int(self.step))
            self._frames.append(c.begin_step(self.name, int(self.step)) if self.cuda else None)
        return self

    def __exit__(self, *exc):
        c = _client
        if c is not None and self.step is not None:
            frame = self._frames.pop() if self._frames else None
            if frame is not None:
                c.end_span(frame)
            st = c.steps()
            if st:
                st.pop()
        mark("end", self.name, self.step, self.gauges)
        return False


class span:
    """A timed region inside a step, as a context manager or a decorator.

    With torch and CUDA up and cuda=True, its times are the GPU's (CUDA events on the current
    stream, resolved in the background); otherwise the host's, and the mark says which. Without
    `step`, the current step (enclosing stage/span with step, or set_step) is used.
    """

    __slots__ = ("name", "step", "category", "cuda", "_frames")

    def __init__(self, name, step=None, category=None, cuda=True):
        self.name = name
        self.step = None if step is None else int(step)
        self.category = category
        self.cuda = cuda
        self._frames = []

    def __enter__(self):
        c = _client
        if c is None:
            return self
        if self.step is not None:
            c.steps().append(self.step)
        self._frames.append(c.begin_span(self.name, self.step, self.category, self.cuda))
        return self

    def __exit__(self, *exc):
        c = _client
        if c is None or not self._frames:
            return False
        c.end_span(self._frames.pop())
        if self.step is not None:
            st = c.steps()
            if st:
                st.pop()
        return False

    def __call__(self, fn):
        name, step, category, cuda = self.name, self.step, self.category, self.cuda

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with span(name, step, category, cuda):
                return fn(*args, **kwargs)

        return wrapper


class tag:
    """Prefixes traced collective names inside the block: tag("qkv") -> `qkv_all_to_all`."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        c = _client
        if c is not None:
            c.tags().append(self.name)
        return self

    def __exit__(self, *exc):
        c = _client
        if c is not None:
            tg = c.tags()
            if tg:
                tg.pop()
        return False


def set_step(i):
    """The step for spans outside any stage/span with step= (None clears it)."""
    c = _client
    if c is not None:
        c.global_step = None if i is None else int(i)


def current_step():
    c = _client
    return None if c is None else c.current_step()


def flush(timeout=5.0):
    """Sends everything buffered, waiting for CUDA spans, up to `timeout` s. True when done."""
    c = _client
    return True if c is None else c.flush(timeout)


def stats():
    """Counters: buffered, pending_cuda, dropped, sent, posts, post_errors, anchors, drift_ms."""
    c = _client
    return {} if c is None else c.stats()


# ---------------------------------------------------------------------------------------------
# Collectives


class _TracedWork:
    """A collective's work handle (async_op=True): the span ends when the caller waits on it,
    since that is when the caller's stream joins the collective's."""

    def __init__(self, work, client, frame):
        self._work = work
        self._client = client
        self._frame = frame

    def wait(self, *args, **kwargs):
        result = self._work.wait(*args, **kwargs)
        frame, self._frame = self._frame, None
        if frame is not None:
            self._client.end_span(frame)
        return result

    def __getattr__(self, name):
        return getattr(self._work, name)

    def __del__(self):
        if getattr(self, "_frame", None) is not None:
            self._client.counts["unwaited"] += 1


def _async_position(fn):
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return params.index("async_op") if "async_op" in params else None


def _wrap_collective(fn, op):
    pos = _async_position(fn)

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        c = _client
        # A collective torch implements with another (_all_gather_base calls
        # all_gather_into_tensor) is one span, not two.
        if c is None or getattr(c._tls, "in_collective", False):
            return fn(*args, **kwargs)
        name = collective_span_name(op, c.tags())
        frame = c.begin_span(name, None, "communication", True)
        c._tls.in_collective = True
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            if c.nvtx:
                c._nvtx_pop()
            raise
        finally:
            c._tls.in_collective = False
        is_async = kwargs.get("async_op", args[pos] if pos is not None and len(args) > pos else False)
        if is_async and result is not None:
            return _TracedWork(result, c, frame)
        c.end_span(frame)
        return result

    traced._stagewatch_op = op
    return traced


def trace_collectives(modules=None):
    """Times torch.distributed collectives as `communication` spans named by operation
    (COLLECTIVE_NAMES), prefixed by the enclosing tag()s. Patches torch.distributed and
    distributed_c10d in place; code that imported a collective by name before this call keeps
    the untraced one. Events are recorded on the caller's current stream before and after the
    call: the span covers the collective from when that stream reaches it to when it has waited
    for it, which includes waiting for slower ranks. Returns the names patched."""
    if modules is None:
        import torch.distributed as dist  # noqa: PLC0415 - only when asked for
        modules = [dist, getattr(dist, "distributed_c10d", None)]
    patched = []
    for mod in modules:
        if mod is None:
            continue
        for fname, op in COLLECTIVE_NAMES.items():
            fn = getattr(mod, fname, None)
            if fn is None or getattr(fn, "_stagewatch_op", None) is not None:
                continue
            setattr(mod, fname, _wrap_collective(fn, op))
            patched.append(fname)
    return sorted(set(patched))


def _at_exit():
    c = _client
    if c is not None and c.thread is not None:
        if not c.flush(_env_float("STAGEWATCH_EXIT_FLUSH_S", 5)):
            print(f"stagewatch: exit flush timed out with {len(c.buf) + len(c.pending)} marks left", file=sys.stderr)


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _client is not None and _client.after_fork())
if _client is not None and os.environ.get("STAGEWATCH_TRACE_COLLECTIVES") == "1":
    try:
        trace_collectives()
    except ImportError as _e:
        print(f"stagewatch: STAGEWATCH_TRACE_COLLECTIVES=1 but torch.distributed is missing: {_e}", file=sys.stderr)
