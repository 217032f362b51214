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
