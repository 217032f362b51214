import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseEnvironRank, parseLoadavgLastPid, parseSchedstatNs, parseSmapsPageSize } from './proc-tree.js';
import { ProcFiles } from './reader.js';
import { busiestPct, hottest, ThreadLoads, threadCpuNs, threadCpuSource } from './threads.js';

/** CPU ns of every thread of `pid`, from the real /proc. */
const threadNs = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).map((t) => threadCpuNs(readFileSync(`/proc/${pid}/task/${t}/${threadCpuSource()}`, 'latin1'), threadCpuSource()) ?? 0);

/** Waits (polling /proc, no fixed sleep) until some thread of `pid` used `ns` more CPU than at the call. */
async function untilBusy(pid: number, ns: number): Promise<void> {
  const base = Math.max(...threadNs(pid));
  for (let i = 0; i < 400 && Math.max(...threadNs(pid)) - base < ns; i++) await sleep(10);
}

describe('/proc parsers for threads, ranks and the last pid, on real /proc text', () => {
  it('reads a thread\'s CPU ns from schedstat, or ticks from stat', () => {
    const src = threadCpuSource();
    const text = readFileSync(`/proc/self/task/${process.pid}/${src}`, 'latin1');
    expect(threadCpuNs(text, src)).toBeGreaterThan(0);
    expect(parseSchedstatNs('123456789 4567 89\n')).toBe(123456789);
    expect(parseSchedstatNs('garbage')).toBeNull();
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    expect((threadCpuNs(stat, 'stat') as number) % 1e7).toBe(0);
  });

  it('reads RANK from an environment, as torchrun sets it, and nothing else', () => {
    expect(parseEnvironRank('PATH=/bin\0LOCAL_RANK=1\0RANK=3\0WORLD_SIZE=8\0')).toBe(3);
    expect(parseEnvironRank('RANK=0\0')).toBe(0);
    expect(parseEnvironRank('LOCAL_RANK=1\0GROUP_RANK=0\0')).toBeNull();
    expect(parseEnvironRank('RANK=abc\0')).toBeNull();
    expect(parseEnvironRank(readFileSync('/proc/self/environ', 'latin1'))).toBe(process.env.RANK === undefined ? null : Number(process.env.RANK));
  });

  it('reads the last pid from /proc/loadavg and the page size from smaps', () => {
    expect(parseLoadavgLastPid('2.24 3.65 2.76 5/195 4114\n')).toBe(4114);
    expect(parseLoadavgLastPid(readFileSync('/proc/loadavg', 'latin1'))).toBeGreaterThan(0);
    expect(parseLoadavgLastPid('1 2 3')).toBeNull();
    expect(parseSmapsPageSize(readFileSync('/proc/self/smaps', 'latin1'))).toBeGreaterThanOrEqual(4096);
  });
});

describe('the busiest thread', () => {
  it('picks the threads that used the most CPU since the last full read (by total on the first)', () => {
    const first = new Map([[1, 500], [2, 100], [3, 900]]);
    expect(hottest(null, first, 2)).toEqual([3, 1]);
    const later = new Map([[1, 1500], [2, 150], [3, 910], [4, 300]]);
    expect(hottest(first, later, 2)).toEqual([1, 4]);
    expect(busiestPct([5e6, 100e6], 100)).toBe(100);
    expect(busiestPct([5e6, 50e6], 100)).toBe(50);
    expect(busiestPct([], 100)).toBeNull();
  });

  it('finds a spinning worker thread in a real process, reading only the hot threads between full scans', async () => {
    // A process whose main thread sleeps while a worker thread spins.
    const child = spawn(process.execPath, ['-e', "new (require('worker_threads').Worker)('for(;;){}', { eval: true }); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
    const files = new ProcFiles();
    try {
      const pid = child.pid as number;
      await untilBusy(pid, 50e6);
      const loads = new ThreadLoads(files, '/proc', 2, 60_000);
      const before = new Map(readdirSync(`/proc/${pid}/task`).map((t, i) => [t, threadNs(pid)[i] as number]));
      const t0 = Date.now();
      expect(loads.sample(pid, t0)).toBeNull(); // the first read is a baseline
      await untilBusy(pid, 200e6);
      const t1 = Date.now();
      const busiest = loads.sample(pid, t1) as number;
      const after = threadNs(pid);
      const truth = Math.max(...readdirSync(`/proc/${pid}/task`).map((t, i) => ((after[i] as number) - (before.get(t) ?? 0)) / ((t1 - t0) * 1e4)));
      // What this test reads itself around the same two moments (a few µs apart), within 5 points.
      expect(Math.abs(busiest - Math.min(100, truth))).toBeLessThan(5);
      expect(busiest).toBeGreaterThan(5);
      // Later reads go to the two hot threads only, and still see the worker.
      await untilBusy(pid, 100e6);
      expect(loads.sample(pid, Date.now())).toBeGreaterThan(5);
      // Between full scans only the two hot threads' descriptors are open.
      expect(readdirSync(`/proc/${process.pid}/fd`).length).toBeGreaterThan(0);
      loads.forget(pid);
      expect(loads.pids()).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      files.close();
    }
  });

  it('measures a thread\'s load over the time between its reads, not between the ticks that asked', () => {
    // A /proc of one process whose one thread is busy all the time; ticks are stamped 100 ms apart
    // but the reads happen 87 and 113 ms apart, as when a tick's GPU calls take longer or shorter.
    const root = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-threads-'));
    const files = new ProcFiles();
    try {
      mkdirSync(path.join(root, '7', 'task', '7'), { recursive: true });
      const schedstat = path.join(root, '7', 'task', '7', 'schedstat');
      let clock = 0;
      let ns = 0;
      const advance = (ms: number): void => {
        clock += ms;
        ns += ms * 1e6; // busy the whole time
        writeFileSync(schedstat, `${ns} 0 1\n`);
      };
      advance(0);
      const loads = new ThreadLoads(files, root, 1, 60_000, () => clock);
      expect(loads.sample(7, 1000)).toBeNull();
      advance(87);
      expect(loads.sample(7, 1100)).toBeCloseTo(100, 6); // over ticks it would read 87
      advance(113);
      expect(loads.sample(7, 1200)).toBeCloseTo(100, 6);
      advance(100);
      ns -= 50e6; // half of the last 100 ms idle
      writeFileSync(schedstat, `${ns} 0 1\n`);
      expect(loads.sample(7, 1300)).toBeCloseTo(50, 6);
    } finally {
      files.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
