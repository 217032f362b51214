/** Pure parsers for a process tree's CPU, memory and threads from /proc/<pid>/stat and status. */

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  threads: number;
  /** Start time after boot, in clock ticks: tells a reused pid apart. */
  startTicks: number;
  /** Resident set in pages (field 24): VmRSS without a second read of `status`. */
  rssPages: number;
}

/** `/proc/<pid>/stat`. The command name may hold spaces and parentheses, so fields start after the last `)`. */
export function parsePidStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state); field N is f[N - 3].
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const threads = Number(f[17]);
  const startTicks = Number(f[19]);
  const rssPages = Number(f[21]);
  if (![pid, ppid, utime, stime, threads, startTicks, rssPages].every(Number.isFinite)) return null;
  return { pid, ppid, cpuTicks: utime + stime, threads, startTicks, rssPages };
}

/** CPU time of a task in ns: the first field of `/proc/<pid>/task/<tid>/schedstat`. */
export function parseSchedstatNs(text: string): number | null {
  const v = Number(text.slice(0, text.indexOf(' ')));
  return text.indexOf(' ') > 0 && Number.isFinite(v) ? v : null;
}

/** The most recently created pid (or thread id): the fifth field of `/proc/loadavg`. */
export function parseLoadavgLastPid(text: string): number | null {
  const v = Number(text.trim().split(/\s+/)[4]);
  return Number.isInteger(v) ? v : null;
}

/** RANK from a `/proc/<pid>/environ` (NUL-separated), as torchrun sets it; null if absent or not a number. */
export function parseEnvironRank(environ: string): number | null {
  for (const entry of environ.split('\0')) {
    if (!entry.startsWith('RANK=')) continue;
    const v = entry.slice(5);
    return /^\d{1,7}$/.test(v) ? Number(v) : null;
  }
  return null;
}

/** The kernel's page size in bytes from a `/proc/<pid>/smaps` text (its first KernelPageSize line). */
export function parseSmapsPageSize(text: string): number | null {
  const m = /^KernelPageSize:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** VmRSS from `/proc/<pid>/status`, in KiB; kernel threads and zombies have none. */
export function parseStatusRssKib(text: string): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Every pid in the tree rooted at `root`, the root included, from a pid → ppid list. */
export function treePids(root: number, stats: Iterable<Pick<ProcStat, 'pid' | 'ppid'>>): Set<number> {
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid);
    if (list) list.push(s.pid);
    else children.set(s.ppid, [s.pid]);
  }
  const out = new Set<number>([root]);
  const stack = [root];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  return out;
}

/**
 * CPU ticks a process used since the previous reading. A process seen for the first time counts
 * from its start if it started inside the interval (short-lived workers are not lost); one that
 * is older than that (first seen late) has no known share of this interval: null.
 */
export function ticksSince(before: ProcStat | undefined, s: ProcStat, prevTicksSinceBoot: number): number | null {
  if (before && before.startTicks === s.startTicks) return Math.max(0, s.cpuTicks - before.cpuTicks);
  return s.startTicks >= prevTicksSinceBoot ? s.cpuTicks : null;
}

/** CPU of the tree between two readings, in cores (see ticksSince for processes new to it). */
export function treeCpuCores(
  prev: ReadonlyMap<number, ProcStat>,
  cur: ReadonlyMap<number, ProcStat>,
  prevTicksSinceBoot: number,
  elapsedS: number,
  clkTck: number,
): number {
  if (elapsedS <= 0) return 0;
  let ticks = 0;
  for (const [pid, s] of cur) ticks += ticksSince(prev.get(pid), s, prevTicksSinceBoot) ?? 0;
  return ticks / clkTck / elapsedS;
}
