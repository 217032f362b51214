import { describe, expect, it } from 'vitest';
import { nvmlReplay } from '../../../test/helpers/nvml-replay.js';
import { GpmReader } from './gpm.js';

describe('GpmReader', () => {
  it('reads SM, tensor and DRAM activity every tick and the costly metrics less often, when the cost is per metric', () => {
    const api = nvmlReplay();
    // A driver whose gets cost 0.02 ms plus 0.03 ms per activity metric and 0.4 ms per link metric.
    let cpu = 0;
    const inner = api.call.gpmMetrics as (req: unknown) => unknown;
    api.call.gpmMetrics = (req) => {
      const r = req as { numMetrics: number; metrics: Array<{ metricId: number }> };
      cpu += 0.02 + r.metrics.slice(0, r.numMetrics).reduce((a, m) => a + (m.metricId >= 20 ? 0.4 : 0.03), 0);
      return inner(req);
    };
    let allocs = 0;
    const alloc = api.call.gpmAlloc as (o: unknown) => unknown;
    api.call.gpmAlloc = (o) => (allocs++, alloc(o));
    const logs: string[] = [];
    const gpm = new GpmReader(api, {}, [1, 2, 3, 5, 10, 20, 21, 60, 61], 100, { clock: () => cpu, log: (m) => logs.push(m) });
    const out: Array<{ at: number; dur: number; keys: string }> = [];
    for (let at = 0; at <= 2000; at += 100) for (const r of gpm.tick(at)) out.push({ at, dur: r.durMs, keys: Object.keys(r.m).sort().join(',') });
    // Tick 1 calibrates (and reports its window with everything), then SM/tensor/DRAM each tick.
    expect(out[0]).toEqual({ at: 100, dur: 100, keys: 'dram_active_pct,gr_active_pct,pcie_rx_mibps,pcie_tx_mibps,sm_active_pct,sm_occupancy_pct,tensor_active_pct' });
    const fast = out.slice(1).filter((r) => r.keys === 'dram_active_pct,sm_active_pct,tensor_active_pct');
    expect(fast.map((r) => r.dur)).toEqual(Array(19).fill(100));
    // The rest (0.02 + 4 x 0.4 + 2 x 0.03 = 1.68 ms a get) within what is left, 0.24 ms a tick: every 7 ticks.
    const slow = out.slice(1).filter((r) => r.keys.includes('pcie'));
    expect(slow).toEqual([{ at: 800, dur: 700, keys: 'gr_active_pct,pcie_rx_mibps,pcie_tx_mibps,sm_occupancy_pct' }, { at: 1500, dur: 700, keys: 'gr_active_pct,pcie_rx_mibps,pcie_tx_mibps,sm_occupancy_pct' }]);
    expect(logs[0]).toMatch(/\[2,5,10\] every 100 ms, \[61,60,20,21,1,3\] every 700 ms/);
    // Samples are pooled: three at most (two windows' starts and the current one).
    expect(allocs).toBe(3);
    gpm.release();
  });

  it('turns itself off, saying so, when the driver refuses every get', () => {
    const api = nvmlReplay();
    api.call.gpmMetrics = () => 999;
    const logs: string[] = [];
    const gpm = new GpmReader(api, {}, [2, 5], 100, { log: (m) => logs.push(m) });
    for (let at = 0; at <= 1000; at += 100) expect(gpm.tick(at)).toEqual([]);
    expect(gpm.describe()).toBe('off: nvmlGpmMetricsGet failed three times');
    expect(logs).toEqual(['off: nvmlGpmMetricsGet failed three times']);
  });
});

describe('GpmReader with the driver\'s sample times', () => {
  // As measured on the H100 (test/gpu/gpm_timing.py): a refresh every 100 ms (here 0.25 ms past the
  // grid), readable 4.5 ms after its time; two samples of one refresh give 0.
  const refreshAt = (now: number): number => Math.floor((now - 4.75) / 100) * 100 + 0.25;
  const driver = (ticks: () => number) => {
    const api = nvmlReplay();
    const get = api.call.gpmGet as (d: unknown, s: unknown) => unknown;
    api.call.gpmGet = (d, s) => (((s as { refreshUs: number }).refreshUs = refreshAt(ticks()) * 1000), get(d, s));
    const metrics = api.call.gpmMetrics as (req: unknown) => unknown;
    api.call.gpmMetrics = (req) => {
      const r = req as { sample1: { refreshUs: number }; sample2: { refreshUs: number }; metrics: Array<{ value: number }> };
      const rc = metrics(req);
      if (r.sample1.refreshUs === r.sample2.refreshUs) for (const m of r.metrics) m.value = 0;
      return rc;
    };
    return api;
  };

  it('stamps windows with the refresh times, never pairs two samples of one refresh, and so never reads a false 0', () => {
    let now = 0;
    const gpm = new GpmReader(driver(() => now), {}, [2, 5], 100);
    const out: Array<{ t: number; dur: number; sm: number | undefined }> = [];
    // Ticks 100 ms apart with jitter that crosses the refresh's phase (4.75 ms past the grid).
    const jitter = [1, 8, 3, 9, 0, 6, 4, 10, 1, 7, 5, 2, 9, 0, 6];
    jitter.forEach((j, i) => {
      now = 1000 + i * 100 + j;
      for (const r of gpm.tick(now)) out.push({ t: r.t, dur: r.durMs, sm: r.m.sm_active_pct });
    });
    // 15 ticks: the first starts the window, 6 fall inside the refresh their window began at and wait.
    expect(out.length).toBe(8);
    for (const r of out) {
      expect(r.sm).toBeGreaterThan(0);
      expect((r.t + 60) % 100).toBe(0); // a refresh time less the counters' 60 ms lag, in whole ms
      expect(r.dur % 100).toBe(0);
      expect(r.dur).toBeGreaterThanOrEqual(100);
    }
    // Consecutive windows meet: each starts where the one before ended.
    for (let i = 1; i < out.length; i++) expect(out[i]!.t - out[i]!.dur).toBe(out[i - 1]!.t);
    expect(gpm.describe()).not.toMatch(/stamped at the calls/);
  });

  it('stamps at the calls, saying so, where the sample time is not near the tick', () => {
    const api = nvmlReplay();
    const get = api.call.gpmGet as (d: unknown, s: unknown) => unknown;
    api.call.gpmGet = (d, s) => (((s as { refreshUs: number }).refreshUs = 42), get(d, s));
    const logs: string[] = [];
    const gpm = new GpmReader(api, {}, [2], 100, { log: (m) => logs.push(m) });
    const out = [];
    for (let at = 1_795_000_000_000; at <= 1_795_000_001_000; at += 100) out.push(...gpm.tick(at));
    expect(out.length).toBeGreaterThan(5);
    expect(out.every((r) => r.durMs === 100 && r.t % 100 === 0)).toBe(true);
    expect(logs[0]).toMatch(/windows stamped at the calls \(sample time 42 µs is not near the tick/);
    expect(gpm.describe()).toBe(logs[0]);
  });
});
