import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { parsePidStat, parseSchedstatNs } from './proc-tree.js';
import type { ProcFiles } from './reader.js';

// USER_HZ is 100 on every Linux architecture GPU hosts run (x86-64, arm64, ppc64le).
const NS_PER_TICK = 1e7;

/**
 * CPU time of one thread in ns: `task/<tid>/schedstat` (ns, one short line) where the kernel has
 * it (CONFIG_SCHED_INFO, every distribution kernel we know), else utime+stime from `task/<tid>/stat`
 * (10 ms ticks).
 */
export function threadCpuNs(text: string, kind: 'schedstat' | 'stat'): number | null {
  if (kind === 'schedstat') return parseSchedstatNs(text);
  const s = parsePidStat(text);
  return s ? s.cpuTicks * NS_PER_TICK : null;
}

/** Where this kernel gives thread CPU time: schedstat (ns) or stat (10 ms ticks). */
export function threadCpuSource(procRoot = '/proc'): 'schedstat' | 'stat' {
  return existsSync(`${procRoot}/self/task/${process.pid}/schedstat`) ? 'schedstat' : 'stat';
}

/** The busiest of `loads` (tid → CPU ns used over `elapsedMs`), as % of one core; null for none. */
export function busiestPct(deltasNs: Iterable<number>, elapsedMs: number): number | null {
  if (elapsedMs <= 0) return null;
  let max: number | null = null;
  for (const d of deltasNs) if (max === null || d > max) max = d;
  return max === null ? null : Math.min(100, Math.max(0, max / (elapsedMs * 1e4)));
}

/** The `count` tids that used the most CPU between two readings (all of `cur` on the first one, by total). */
export function hottest(prev: ReadonlyMap<number, number> | null, cur: ReadonlyMap<number, number>, count: number): number[] {
  return [...cur]
    .map(([tid, ns]) => [tid, ns - (prev?.get(tid) ?? 0)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([tid]) => tid);
}

interface ProcessThreads {
  /** Every thread's CPU ns at the last full scan, and when. */
  full: Map<number, number> | null;
  fullAt: number;
  fulls: number;
  /** The threads read every tick (the busiest at the last full scan): CPU ns at the last tick. */
  hot: Map<number, number>;
  hotAt: number;
  /** The clock's time at the last read: loads are over the time between reads, not between ticks. */
  readAt: number;
}

/**
 * The busiest thread of each process, cheaply. Reading every thread of every process each tick
 * would cost 8 ranks x ~80 torch threads = 640 reads per tick; instead every thread is read once
 * per `fullEveryMs`, and in between only the `hotCount` busiest of the last full scan, whose
 * descriptors stay open. A thread that becomes the busiest is seen at the next full scan at the
 * latest (within `fullEveryMs`).
 */
export class ThreadLoads {
  private readonly procs = new Map<number, ProcessThreads>();
  private kind: 'schedstat' | 'stat' | null = null;
  private readonly buf = Buffer.allocUnsafe(4096);

  constructor(
    private readonly files: ProcFiles,
    private readonly procRoot = '/proc',
    private readonly hotCount = 4,
    private readonly fullEveryMs = 1000,
    /**
     * When each read happens. A tick's reads run after the GPU's calls, a few to 15 ms past its
     * stamp and not the same each tick: over tick stamps, a thread busy throughout read 85-90 %
     * at times (H100 phases capture, mixed_three), under the 90 % that says host-bound.
     */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private path(pid: number, tid: number): string {
    return `${this.procRoot}/${pid}/task/${tid}/${this.kind}`;
  }

  /** One read that keeps no descriptor open (full scans touch every thread). */
  private readOnce(file: string): string {
    const fd = openSync(file, 'r');
    try {
      return this.buf.toString('latin1', 0, readSync(fd, this.buf, 0, this.buf.length, 0));
    } finally {
      closeSync(fd);
    }
  }

  private detectKind(pid: number, tid: number): void {
    if (this.kind) return;
    try {
      this.readOnce(`${this.procRoot}/${pid}/task/${tid}/schedstat`);
      this.kind = 'schedstat';
    } catch {
      this.kind = 'stat';
    }
  }

  /** The busiest thread of `pid` since the previous call, % of one core; null until two readings. */
  sample(pid: number, now: number): number | null {
    let st = this.procs.get(pid);
    if (!st) {
      st = { full: null, fullAt: 0, fulls: 0, hot: new Map(), hotAt: 0, readAt: 0 };
      this.procs.set(pid, st);
    }
    const readAt = this.clock();
    const deltas: number[] = [];
    // The second read is a full one too: the first can only rank threads by their CPU since they
    // started, which at a process's start is its main thread's initialisation.
    const fullDue = st.fulls < 2 || now - st.fullAt >= this.fullEveryMs - 1;
    if (fullDue) {
      const all = new Map<number, number>();
      for (const e of readdirSync(`${this.procRoot}/${pid}/task`)) {
        const tid = Number(e);
        this.detectKind(pid, tid);
        try {
          const ns = threadCpuNs(this.readOnce(this.path(pid, tid)), this.kind as 'schedstat' | 'stat');
          if (ns !== null) all.set(tid, ns);
        } catch {
          // the thread ended between listing and reading
        }
      }
      if (st.full && st.fullAt === st.hotAt) {
        // Two full reads in a row: every thread has a delta for this tick, and one that was not
        // there at the last read started since, so all of its CPU time falls in this tick.
        for (const [tid, ns] of all) deltas.push(ns - (st.full.get(tid) ?? 0));
      } else {
        for (const [tid, before] of st.hot) {
          const ns = all.get(tid);
          if (ns !== undefined) deltas.push(ns - before);
        }
      }
      const hot = hottest(st.full, all, this.hotCount);
      for (const tid of st.hot.keys()) if (!hot.includes(tid)) this.files.drop(this.path(pid, tid));
      st.hot = new Map(hot.map((tid) => [tid, all.get(tid) as number]));
      st.full = all;
      st.fullAt = now;
      st.fulls++;
    } else {
      for (const [tid, before] of st.hot) {
        try {
          const ns = threadCpuNs(this.files.read(this.path(pid, tid)), this.kind as 'schedstat' | 'stat');
          if (ns === null) continue;
          deltas.push(ns - before);
          st.hot.set(tid, ns);
        } catch {
          this.files.drop(this.path(pid, tid));
          st.hot.delete(tid);
        }
      }
    }
    const elapsed = readAt - st.readAt;
    const first = st.hotAt === 0;
    st.hotAt = now;
    st.readAt = readAt;
    return first ? null : busiestPct(deltas, elapsed);
  }

  /** The process is gone: close its descriptors. */
  forget(pid: number): void {
    const st = this.procs.get(pid);
    if (!st) return;
    for (const tid of st.hot.keys()) this.files.drop(this.path(pid, tid));
    this.procs.delete(pid);
  }

  pids(): number[] {
    return [...this.procs.keys()];
  }
}
