import { describe, expect, it } from 'vitest';
import { idleMs, LivePoints, STALE_AFTER_MS } from '../collector/ui/live-data.js';

describe('live view data', () => {
  it('idle time is on the collector clock: its now at the last message plus what passed since in the browser', () => {
    expect(idleMs(1_000, 5_000, 100_000, 103_000)).toBe(7_000);
    expect(idleMs(0, 5_000, 0, 0)).toBe(Infinity);
    expect(STALE_AFTER_MS).toBe(10_000);
  });

  it('a 1 Hz series and a 10 Hz series both come out as lines on their own grids', () => {
    const d = new LivePoints();
    for (let t = 0; t < 10_000; t += 100) d.add([{ t, source: 'gpu', gpu: 0, m: { util_pct: 50 } }]);
    for (let t = 0; t < 10_000; t += 1000) d.add([{ t, source: 'gpu', gpu: 0, m: { sm_active_pct: 40 } }]);
    const lines = d.lines(0, 60_000, 600);
    expect(lines.get('gpu0.util_pct')?.v.every((v) => v === 50)).toBe(true);
    expect(lines.get('gpu0.sm_active_pct')?.v.every((v) => v === 40)).toBe(true);
    expect(d.gpus.has(0)).toBe(true);
  });

  it('keeps a series sorted when a sample arrives late, and trims what falls out of the window', () => {
    const d = new LivePoints();
    d.add([{ t: 1000, source: 'host', m: { cpu_pct: 1 } }, { t: 3000, source: 'host', m: { cpu_pct: 3 } }, { t: 2000, source: 'host', m: { cpu_pct: 2 } }]);
    expect(d.lines(0, 1000, 10).get('host.cpu_pct')?.v).toEqual([1, 2, 3]);
    d.trim(2500);
    expect(d.lines(0, 1000, 10).get('host.cpu_pct')?.v).toEqual([3]);
    expect(d.cores.size).toBe(0);
  });

  it('a sample of one workload process (pid) stays out: the workload chart is the tree total', () => {
    const d = new LivePoints();
    d.add([{ t: 1000, source: 'proc', m: { cpu_cores: 4 } }, { t: 1000, source: 'proc', pid: 42, m: { cpu_cores: 1 } }]);
    expect(d.lines(0, 1000, 10).get('proc.cpu_cores')?.v).toEqual([4]);
  });

  it('an open stage runs to the given end; closed stages end at their end mark', () => {
    const d = new LivePoints();
    d.marks.push({ t: 1000, kind: 'begin', stage: 'init' }, { t: 2000, kind: 'end', stage: 'init' }, { t: 2000, kind: 'begin', stage: 'save' });
    expect(d.bands(5000)).toEqual([
      { name: 'init', start: 1, end: 2 },
      { name: 'save', start: 2, end: 5 },
    ]);
  });
});
