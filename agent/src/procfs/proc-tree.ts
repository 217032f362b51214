/** Pure parsers for a process tree's CPU, memory and threads from /proc/<pid>/stat and status. */

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  threads: number;
  /** Start time after boot, in clock ticks: tells a reused pid apart. */
  startTicks: number;
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
  if (![pid, ppid, utime, stime, threads, startTicks].every(Number.isFinite)) return null;
  return { pid, ppid, cpuTicks: utime + stime, threads, startTicks };
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
 * CPU of the tree between two readings, in cores. A process seen for the first time is counted
 * from its start, if it started inside the interval, so short-lived workers are not lost.
 */
export function treeCpuCores(
  prev: ReadonlyMap<number, ProcStat>,
  cur: ReadonlyMap<number, ProcStat>,
  prevTicksSinceBoot: number,
  elapsedS: number,
  clkTck: number,
): number {
  if (elapsedS <= 0) return 0;
  let ticks = 0;
  for (const [pid, s] of cur) {
    const before = prev.get(pid);
    if (before && before.startTicks === s.startTicks) ticks += Math.max(0, s.cpuTicks - before.cpuTicks);
    else if (s.startTicks >= prevTicksSinceBoot) ticks += s.cpuTicks;
  }
  return ticks / clkTck / elapsedS;
}
