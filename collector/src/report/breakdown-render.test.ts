import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../analysis/bottleneck.js';
import { buildReport, type ReportInput } from '../analysis/report.js';
import { addBreakdown } from '../analysis/spans-report.js';
import { compareRuns, type RunFigures } from '../analysis/compare-runs.js';
import type { SpanMarkLike } from '../analysis/span-pairs.js';
import { compareCsv, compareMarkdown } from './compare-render.js';
import { reportHtml } from './html.js';
import { reportMarkdown } from './markdown.js';

const T0 = 1_800_000_000_000;
const marks: Array<SpanMarkLike & { source: string }> = [];
for (let k = 0; k < 2; k++) {
  const b = T0 + k * 100;
  marks.push({ kind: 'begin', stage: 'denoise_step', step: k, t: b, source: 'http' }, { kind: 'end', stage: 'denoise_step', step: k, t: b + 100, source: 'http' });
  for (const [name, category, s, e] of [['attn', 'compute', 0, 60], ['qkv_all_to_all', 'communication', 50, 80]] as const) {
    marks.push({ kind: 'begin', stage: name, step: k, t: b + s, source: 'http', timing: 'cuda', category }, { kind: 'end', stage: name, step: k, t: b + e, source: 'http', timing: 'cuda', category });
  }
}
const input: ReportInput = { run: { id: 'r1', kind: 'run', startedAt: T0, endedAt: T0 + 200, exitCode: 0 }, hosts: [{ host: 'h', gpus: [], samples: [], marks }] };
const report = addBreakdown(buildReport(input, DEFAULT_THRESHOLDS), input);

describe('breakdown in the markdown and HTML reports', () => {
  it('shows the headline and the per-step tables', () => {
    const md = reportMarkdown(report);
    expect(md).toContain('| qkv_all_to_all ms per step | 30.000 |');
    expect(md).toContain('| qkv_all_to_all | communication | cuda | 1.0 | 30.000 | 30.000 | 30.000 | 30.0 | 0: 30.000 |');
    expect(md).toContain('| category (union of its spans) | ms/step mean | p50 | p95 | share of step % |');
    expect(md).toContain('Communication per step: 30.000 ms; exposed (not overlapped by compute): 20.000 ms.');
    expect(md).toContain('| category | communication & compute | 10.000 | 10.000 | 10.000 |');
    expect(md).toContain('| 1 | 100.00 | 30.000 | 60.000 | 20.000 |');
    const html = reportHtml(report);
    expect(html).toContain('<h2>Headline</h2>');
    expect(html).toMatch(/<table class="spans">.*<td>qkv_all_to_all<\/td><td>communication<\/td><td>cuda<\/td>/s);
    expect(html).toContain('<table class="per-step">');
  });
});

describe('compare renderings', () => {
  const fig = (runId: string, config: string, v: number, steps: number[]): RunFigures => ({ runId, labels: { config }, values: { step_mean_ms: { value: v, per_step: steps } } });
  const res = compareRuns('a', [fig('a', 'x,y', 100, [99, 101, 100]), fig('b', 'z', 110, [109, 111, 110])], { metrics: ['step_mean_ms'] });

  it('markdown: absolute values and the change with its interval, verdict and basis', () => {
    const md = compareMarkdown(res);
    expect(md).toContain('| config | runs | step mean ms |');
    expect(md).toContain('| config=x,y | 1 | 100.000 |');
    expect(md).toMatch(/\| config=z \| \+10\.00 % \[\+\d\.\d\d, \+\d+\.\d\d\] slower \(steps\) \|/);
  });

  it('csv: quoted where a field holds a comma', () => {
    const lines = compareCsv(res).trim().split('\n');
    expect(lines[1]).toBe('"config=x,y",a,100,,1,,,,baseline,');
    expect(lines[2]).toMatch(/^config=z,b,110,,1,10,[\d.]+,[\d.]+,slower,steps$/);
  });
});
