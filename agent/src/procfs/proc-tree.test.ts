import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePidStat, parseStatusRssKib, treeCpuCores, treePids, type ProcStat } from './proc-tree.js';

describe('/proc/<pid> parsers', () => {
  it('reads this process from the real /proc', () => {
    const s = parsePidStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(s?.pid).toBeGreaterThan(0);
    expect(s?.threads).toBeGreaterThanOrEqual(1);
    expect(parseStatusRssKib(readFileSync('/proc/self/status', 'utf8'))).toBeGreaterThan(1000);
  });

  it('survives a command name with spaces and parentheses', () => {
    const line = '4242 (python3 (T5) x) R 17 4242 17 0 -1 4194304 1 0 0 0 250 50 0 0 20 0 9 0 123456 1000 200 18446744073709551615';
    expect(parsePidStat(line)).toEqual({ pid: 4242, ppid: 17, cpuTicks: 300, threads: 9, startTicks: 123456, rssPages: 200 });
    expect(parsePidStat('garbage')).toBeNull();
  });

  it('walks the tree below a root pid only', () => {
    const stats = [
      { pid: 1, ppid: 0 }, { pid: 10, ppid: 1 }, { pid: 11, ppid: 10 }, { pid: 12, ppid: 11 }, { pid: 20, ppid: 1 },
    ];
    expect([...treePids(10, stats)].sort()).toEqual([10, 11, 12]);
  });

  it('counts CPU in cores, new children from their start, reused pids afresh', () => {
    const p = (pid: number, cpuTicks: number, startTicks: number): [number, ProcStat] => [pid, { pid, ppid: 1, cpuTicks, threads: 1, startTicks, rssPages: 0 }];
    const prev = new Map([p(10, 1000, 50), p(11, 500, 60)]);
    // 10 used 100 ticks, 11 was replaced by a new process started after prev (its 30 ticks count),
    // 12 is new since prev (20 ticks).
    const cur = new Map([p(10, 1100, 50), p(11, 30, 5000), p(12, 20, 4990)]);
    expect(treeCpuCores(prev, cur, 4900, 1, 100)).toBeCloseTo(1.5);
  });
});
