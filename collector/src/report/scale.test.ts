import { describe, expect, it } from 'vitest';
import { yRange } from './scale.js';
import { legendLabel, seriesInfo } from './labels.js';
import { bucketLine, GAP_STEPS, medianInterval } from './series.js';

describe('y ranges', () => {
  it('keeps a steady 74.0–74.3 W within a 50 W span, so noise looks flat', () => {
    const [lo, hi] = yRange('W', [74.0, 74.3, 74.1]);
    expect(hi - lo).toBe(50);
    expect(lo).toBeLessThanOrEqual(74.0);
    expect(hi).toBeGreaterThanOrEqual(74.3);
  });

  it('lets a real swing use the whole chart', () => {
    const [lo, hi] = yRange('W', [80, 690]);
    expect(lo).toBeCloseTo(80 - 30.5);
    expect(hi).toBeCloseTo(690 + 30.5);
  });

  it('% is always 0–100; rates and memory start at 0 with a smallest top', () => {
    expect(yRange('%', [3, 4])).toEqual([0, 100]);
    expect(yRange('MiB/s', [0.1, 0.2])).toEqual([0, 10]);
    expect(yRange('MiB', [70_000, 70_100])).toEqual([0, 70_100 * 1.05]);
    expect(yRange('cores', [])).toEqual([0, 1]);
  });
});

describe('legend names', () => {
  it.each([
    ['gpu0.sm_active_pct', 'GPU 0 SM activity (%)'],
    ['gpu3.power_w', 'GPU 3 power (W)'],
    ['host.cpu12_pct', 'CPU core 12 (%)'],
    ['host.mem_used_mib', 'host memory used (MiB)'],
    ['host.net_rx_mibps', 'host network receive (MiB/s)'],
    ['proc.cpu_cores', 'workload CPU (cores)'],
  ])('%s → %s', (key, label) => {
    expect(legendLabel(key)).toBe(label);
  });

  it('takes units from the metric catalogue', () => {
    expect(seriesInfo('gpu1.mem_used_mib')).toMatchObject({ scope: 'gpu', gpu: 1, unit: 'MiB' });
  });
});

describe('per-series buckets', () => {
  it('a 1 Hz series on a 100 ms chart step is one line, not isolated points', () => {
    const ts = Array.from({ length: 30 }, (_, i) => 1000 + i * 1000);
    const line = bucketLine(ts, ts.map(() => 50), 1000, 100);
    expect(line.stepMs).toBe(1000);
    expect(line.v.every((v) => v === 50)).toBe(true);
    expect(line.t).toHaveLength(30);
  });

  it('jitter does not break a line; a stop longer than GAP_STEPS of its steps does', () => {
    const ts = [0, 95, 210, 300, 390, 500, /* outage */ 2000, 2100];
    const line = bucketLine(ts, ts.map(() => 1), 0, 100);
    expect(medianInterval(ts)).toBe(100);
    expect(line.v.filter((v) => v === null)).toHaveLength(1);
    const gapAt = line.v.indexOf(null);
    expect((line.t[gapAt + 1] as number) - (line.t[gapAt - 1] as number)).toBeGreaterThan(GAP_STEPS * line.stepMs);
  });
});
