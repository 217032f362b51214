import { describe, expect, it } from 'vitest';
import { every, gpu, hostReport, proc, stageOf, type MarkSpec } from '../../../test/helpers/readings.js';
import { ThresholdsSchema } from './thresholds.js';
import { weightedQuantile } from './weighted.js';

const T0 = 1_000_000;

describe('readings weighted by the interval they cover', () => {
  it('splits a one-second GPM reading across the stage end it straddles', () => {
    // T5 encoding (CPU only, 1.6 s) then denoise: the GPM reading stamped at 2.0 s covers 0.6 s of
    // T5 and 0.4 s of denoise. Attributed by time stamp it would land wholly in denoise; weighted,
    // 0.6 s of its NVLink traffic counts in T5 and cannot outweigh 1.6 s of a saturated thread.
    const cap = 429_153;
    const samples = [
      ...every(T0, T0 + 5000, 100, (t) => [gpu(0, { util_pct: t <= T0 + 1600 ? 0 : 40, nvlink_capacity_mibps: cap }), proc(7, { thread_max_pct: t <= T0 + 1600 ? 100 : 20, rank: 0, gpu_index: 0 })]),
      ...every(T0, T0 + 5000, 1000, (t) => gpu(0, { sm_active_pct: t === T0 + 1000 ? 0 : 30, nvlink_rx_mibps: t === T0 + 1000 ? 0 : 0.8 * cap, nvlink_tx_mibps: 0 })),
    ];
    const r = hostReport(samples, [['t5_encode', T0, T0 + 1600], ['denoise', T0 + 1600, T0 + 5000]]);
    const t5 = stageOf(r, 't5_encode');
    expect(t5.bottleneck).toBe('host-bound');
    expect(t5.shares.communication).toBeCloseTo(0.6 / 1.6, 2);
    expect(t5.shares['host-bound']).toBeCloseTo(1 / 1.6, 2);
    // Weighted means: 1.0 s at 0 % and 0.6 s at 30 % SM activity; NVLink likewise.
    expect(t5.gpus[0]?.sm_active_pct?.mean).toBeCloseTo((0.6 * 30) / 1.6, 1);
    expect(t5.gpus[0]?.nvlink_rx_mibps).toBeCloseTo((0.6 * 0.8 * cap) / 1.6, 0);
    expect(t5.gpus[0]?.nvlink_load_pct).toBeCloseTo((0.6 * 80) / 1.6, 0);
    expect(t5.evidence).toMatch(/NVLink at 30% of capacity/);
    expect(stageOf(r, 'denoise').gpus[0]?.sm_active_pct?.mean).toBe(30);
  });

  it('covers the gap to the previous reading where dur_ms is missing (older agents), capped at readingGapCapMs', () => {
    const old = every(T0, T0 + 10_000, 100, (t) => (t > T0 + 3000 && t < T0 + 9000 ? null : gpu(0, { util_pct: 100, sm_active_pct: 90 }))).map(({ dur_ms: _d, ...s }) => s);
    const r = hostReport(old, [['all', T0, T0 + 10_000]]);
    const s = stageOf(r, 'all');
    // Covered: the first reading (the gap to its next), 3 s of readings, then the reading after the
    // 6 s gap covers only the 2 s cap, then 1 s more. No data for the other 4 s.
    expect(s.covered_s).toBeCloseTo(3 + 2 + 1, 1);
    expect(s.no_data_s).toBeCloseTo(4, 1);
    expect(s.shares.compute).toBe(1);
    const wider = hostReport(old, [['all', T0, T0 + 10_000]], { th: ThresholdsSchema.parse({ readingGapCapMs: 10_000 }) });
    expect(stageOf(wider, 'all').no_data_s).toBeCloseTo(0, 1);
  });

  it('integrates power over the time each reading covers', () => {
    const r = hostReport(every(T0, T0 + 10_000, 100, () => gpu(0, { util_pct: 100, power_w: 100 })), [['s', T0, T0 + 10_000]]);
    expect(stageOf(r, 's').gpus[0]?.energy_j).toBe(1000);
    expect(stageOf(r, 's').gpus[0]?.power_w.mean).toBe(100);
  });

  it('counts samples by time stamp, and takes a reading that arrives long after its time like one in order', () => {
    const samples = every(T0, T0 + 200_000, 1000, (t) => gpu(0, { util_pct: t <= T0 + 10_000 ? 50 : 0 }));
    const late = { t: T0 + 5000, host: 'h', source: 'gpu' as const, gpu: 0, dur_ms: 1000, m: { util_pct: 100 } };
    const stages: MarkSpec[] = [['early', T0, T0 + 10_000]];
    // Fed after 200 s of newer readings: far behind the sweep's horizon.
    const asGiven = stageOf(hostReport([...samples, late], stages, { asGiven: true }), 'early');
    const sorted = stageOf(hostReport([...samples, late], stages), 'early');
    // Stamped inside [start, end): 1 s .. 9 s and the late one (the 10 s reading ends the stage, it does not start in it).
    expect(asGiven.samples).toBe(10);
    expect(asGiven.gpus[0]?.util_pct).toEqual({ mean: round2((10 * 50 + 100) / 11), p95: 100, max: 100 });
    expect(asGiven).toEqual(sorted);
  });
});

const round2 = (v: number): number => Math.round(v * 100) / 100;

describe('weighted p95', () => {
  it('matches a sort with cumulative weights, and the nearest rank with equal weights', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 60);
      const vals = Array.from({ length: n }, () => Math.floor(rnd() * 20));
      const wts = Array.from({ length: n }, () => (trial % 2 === 0 ? 100 : 1 + Math.floor(rnd() * 100)));
      const total = wts.reduce((a, b) => a + b, 0);
      const order = vals.map((v, i) => [v, wts[i] as number] as const).sort((a, b) => a[0] - b[0]);
      let acc = 0;
      const want = order.find(([, w]) => (acc += w) >= 0.95 * total)?.[0];
      expect(weightedQuantile(Float64Array.from(vals), Float64Array.from(wts), 0.95 * total)).toBe(want);
      if (trial % 2 === 0) expect(want).toBe([...vals].sort((a, b) => a - b)[Math.ceil(0.95 * n) - 1]);
    }
  });
});
