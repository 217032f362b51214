import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { parseEnvironRank, parsePidStat, parseSmapsPageSize, ticksSince, type ProcStat } from '../procfs/proc-tree.js';
import { ProcFiles } from '../procfs/reader.js';
import { ThreadLoads } from '../procfs/threads.js';
import { TreeScanner } from '../procfs/tree-scan.js';
import { round } from './host.js';
import { IntervalSampler } from './interval.js';
import type { Emit, GpuHolder, GpuProcessSource, SamplerContext } from './types.js';

// USER_HZ is 100 on every Linux architecture GPU hosts run (x86-64, arm64, ppc64le).
const CLK_TCK = 100;
/** Per-process samples per tick at most: the GPU users first, then the busiest by CPU. */
export const MAX_PROCESS_SAMPLES = 16;
/**
 * Below this CPU (cores) a process's busiest thread is not looked for: it is at most this busy,
 * and reading every thread of idle helpers (a torchrun agent, a shell) once a second is most of
 * what busiest-thread tracking costs. Its samples then carry no thread_max_pct. A process that
 * holds a GPU is tracked whatever its load: its busiest thread is what tells host-bound from
 * idle, and a reading needs the one before it, so a rank that wakes from waiting on its GPU would
 * otherwise go without one for its first tick (on the H100 phases capture, ~0.1 s of every
 * second of mixed_three came out idle instead of host-bound).
 */
export const THREAD_TRACK_MIN_CORES = 0.05;

export interface ProcTreeOptions {
  procRoot?: string;
  /** How often the tree is walked again for new processes (when any was created). */
  rescanMs?: number;
  /** Which process holds which GPU (NVML), where the GPU backend knows. */
  gpuProcs?: GpuProcessSource;
}

interface Reading {
  at: number;
  uptimeTicks: number;
  stats: Map<number, ProcStat>;
}

/** The processes that get a sample of their own: every GPU holder, then the busiest, at most `max`. */
export function pickProcesses(cores: ReadonlyMap<number, number>, holders: ReadonlyMap<number, readonly GpuHolder[]>, max: number): number[] {
  return [...cores]
    .sort((a, b) => Number(holders.has(b[0])) - Number(holders.has(a[0])) || b[1] - a[1] || a[0] - b[0])
    .slice(0, max)
    .map(([pid]) => pid);
}

/**
 * The workload's own CPU, memory and threads: the tree rooted at one pid, as a total (no `pid`)
 * and per process (`pid` set) with its busiest thread, its RANK, and the GPU it holds. Host CPU
 * cannot tell "one T5 thread saturates a core" from noise made by other processes; this can.
 * Every sample's dur_ms is the time since the previous reading.
 */
export class ProcTreeSampler extends IntervalSampler {
  readonly name = 'proc.tree';
  private prev: Reading | null = null;
  private gone = false;
  private readonly files = new ProcFiles();
  private readonly tree: TreeScanner;
  private readonly threads: ThreadLoads;
  private readonly ranks = new Map<number, number | null>();
  private readonly procRoot: string;
  private readonly pageBytes: number;
  /** CLOCK_BOOTTIME in ticks, from one read of /proc/uptime and the monotonic clock since (no read per tick). */
  private readonly uptime: () => number;

  constructor(
    ctx: SamplerContext,
    private readonly rootPid: number,
    intervalMs: number,
    private readonly opts: ProcTreeOptions = {},
  ) {
    super(ctx, intervalMs);
    this.procRoot = opts.procRoot ?? '/proc';
    this.tree = new TreeScanner(rootPid, this.files, this.procRoot, opts.rescanMs ?? 1000);
    this.threads = new ThreadLoads(this.files, this.procRoot);
    this.pageBytes = pageSize(this.procRoot);
    const up0 = Number(readFileSync(`${this.procRoot}/uptime`, 'latin1').split(' ')[0]) * CLK_TCK;
    const t0 = performance.now();
    this.uptime = () => up0 + ((performance.now() - t0) / 1000) * CLK_TCK;
  }

  protected override down(): boolean {
    return this.gone;
  }

  protected override release(): void {
    this.files.close();
  }

  private readStat(pid: number): ProcStat | null {
    const file = `${this.procRoot}/${pid}/stat`;
    try {
      return parsePidStat(this.files.read(file));
    } catch {
      this.files.drop(file);
      return null;
    }
  }

  private rank(pid: number): number | null {
    if (!this.ranks.has(pid)) {
      let r: number | null = null;
      try {
        r = parseEnvironRank(readFileSync(`${this.procRoot}/${pid}/environ`, 'latin1'));
      } catch {
        // another user's process: its environment is not readable
      }
      this.ranks.set(pid, r);
    }
    return this.ranks.get(pid) ?? null;
  }

  private exited(pid: number): void {
    this.tree.remove(pid);
    this.threads.forget(pid);
    this.ranks.delete(pid);
  }

  protected sampleOnce(emit: Emit): void {
    const now = Date.now();
    const stats = new Map<number, ProcStat>();
    for (const pid of [...this.tree.current(now)]) {
      const s = this.readStat(pid);
      const before = this.prev?.stats.get(pid);
      // Gone, or the pid now belongs to another process: no longer part of the workload.
      if (!s || (before && before.startTicks !== s.startTicks)) this.exited(pid);
      else stats.set(pid, s);
    }
    if (!stats.has(this.rootPid)) {
      this.gone = true;
      this.lastError = `process ${this.rootPid} exited`;
      this.ctx.log(`${this.name}: ${this.lastError}`);
      this.ctx.onHealthChange?.(this);
      return;
    }
    const prev = this.prev;
    this.prev = { at: now, uptimeTicks: this.uptime(), stats };
    const holders = this.opts.gpuProcs?.holders(now) ?? new Map<number, readonly GpuHolder[]>();
    if (!prev) return;
    const dur = now - prev.at;
    const cores = new Map<number, number>();
    let treeTicks = 0;
    for (const [pid, s] of stats) {
      const ticks = ticksSince(prev.stats.get(pid), s, prev.uptimeTicks);
      treeTicks += ticks ?? 0;
      if (ticks !== null && dur > 0) cores.set(pid, ticks / CLK_TCK / (dur / 1000));
    }
    let threadMax: number | null = null;
    const base = { t: now, host: this.ctx.host, source: 'proc' as const, dur_ms: dur };
    for (const pid of pickProcesses(cores, holders, MAX_PROCESS_SAMPLES)) {
      const s = stats.get(pid) as ProcStat;
      let busiest: number | null = null;
      if ((cores.get(pid) as number) < THREAD_TRACK_MIN_CORES && !holders.has(pid)) {
        // Not tracked this tick: its next tracked reading starts afresh, over its own window.
        this.threads.forget(pid);
      } else {
        try {
          busiest = this.threads.sample(pid, now);
        } catch {
          // exited since its stat was read
        }
      }
      if (busiest !== null) threadMax = Math.max(threadMax ?? 0, busiest);
      const m: Record<string, number> = { cpu_cores: round(cores.get(pid) as number, 3), rss_mib: round((s.rssPages * this.pageBytes) / 1048576), threads: s.threads };
      if (busiest !== null) m.thread_max_pct = round(busiest, 1);
      const rank = this.rank(pid);
      if (rank !== null) m.rank = rank;
      const held = holders.get(pid);
      // One sample per GPU a process holds (one process driving several GPUs is rare under torchrun).
      for (const h of held ?? [null]) {
        const mm = h ? { ...m, gpu_index: h.gpu, ...(h.memMib !== null ? { gpu_mem_mib: round(h.memMib) } : {}) } : m;
        emit({ ...base, pid, m: mm });
      }
    }
    let rssPages = 0;
    let threads = 0;
    for (const s of stats.values()) {
      rssPages += s.rssPages;
      threads += s.threads;
    }
    const m: Record<string, number> = {
      cpu_cores: round(dur > 0 ? treeTicks / CLK_TCK / (dur / 1000) : 0, 3),
      rss_mib: round((rssPages * this.pageBytes) / 1048576),
      threads,
      procs: stats.size,
    };
    if (threadMax !== null) m.thread_max_pct = round(threadMax, 1);
    this.samples++;
    emit({ ...base, m });
    for (const u of this.opts.gpuProcs?.utilization(now) ?? []) {
      if (stats.has(u.pid)) emit({ t: u.t, host: this.ctx.host, source: 'proc', dur_ms: u.durMs, pid: u.pid, m: { gpu_util_pct: u.smPct, gpu_index: u.gpu } });
    }
  }
}

/** The kernel's page size (4 KiB on x86-64, often 64 KiB on arm64), for rss in pages. */
function pageSize(procRoot: string): number {
  try {
    const fd = openSync(`${procRoot}/self/smaps`, 'r');
    try {
      const buf = Buffer.alloc(8192);
      return parseSmapsPageSize(buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0))) ?? 4096;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 4096;
  }
}
