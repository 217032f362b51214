import { describe, expect, it } from 'vitest';
import { bucketSeries } from '../collector/src/report/series.js';
import { lineChartSvg } from '../collector/src/report/svg.js';
import { captureAsSamples } from './helpers/capture.js';

// The real H100 capture: 10 Hz utilization rows and 1 Hz GPM rows, as the agent stored them.
const samples = captureAsSamples('h100');
const series = bucketSeries('h100', samples, 900, 0);
const paths = (svg: string): Map<string, string> => new Map([...svg.matchAll(/<path class="series" data-key="([^"]+)" d="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
const count = (d: string, c: string): number => (d.match(new RegExp(c, 'g')) ?? []).length;

describe('HTML report charts on the H100 capture', () => {
  const svg = lineChartSvg(series, ['gpu0.util_pct', 'gpu0.sm_active_pct'], [], 'GPU utilization and SM activity (%)');
  const drawn = paths(svg);

  it('draws every series it names as a line (SM activity was all isolated moves before)', () => {
    expect([...drawn.keys()]).toEqual(['gpu0.util_pct', 'gpu0.sm_active_pct']);
    for (const [key, d] of drawn) {
      const points = series.lines[key]?.v.filter((v) => v !== null).length ?? 0;
      expect(count(d, 'L'), key).toBe(points - count(d, 'M'));
      expect(count(d, 'L'), key).toBeGreaterThan(20);
    }
    expect(svg).toContain('GPU 0 SM activity');
    expect(svg).not.toContain('gpu0.sm_active_pct </tspan>');
  });

  it('has no gaps where data exists: one unbroken line per series over the capture', () => {
    for (const [key, d] of drawn) expect(count(d, 'M'), key).toBe(1);
  });

  it('breaks a line where the samples really stop', () => {
    const cut = samples.filter((s) => !(s.source === 'gpu' && 'util_pct' in s.m && s.t > series.start + 20_000 && s.t < series.start + 30_000));
    const d = paths(lineChartSvg(bucketSeries('h100', cut, 900, 0), ['gpu0.util_pct'], [], 'x')).get('gpu0.util_pct') as string;
    expect(count(d, 'M')).toBe(2);
  });

  it('scales power by its unit: a span of at least 50 W', () => {
    const power = lineChartSvg(series, ['gpu0.power_w'], [], 'GPU power (W)');
    const [top, bottom] = [...power.matchAll(/text-anchor="end">([\d.]+)<\/text>/g)].map((m) => Number(m[1]));
    expect((top as number) - (bottom as number)).toBeGreaterThanOrEqual(50);
    expect(power).toContain('>W</text>');
  });
});
