import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.js';
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
  // The host marks each step in 10 ms; the GPU runs it in 100 ms (the step span).
  marks.push({ kind: 'begin', stage: 'denoise_step', step: k, t: b, source: 'http' }, { kind: 'end', stage: 'denoise_step', step: k, t: b + 10, source: 'http' });
  for (const [name, category, s, e] of [['denoise_step', 'step', 0, 100], ['attn', 'compute', 0, 60], ['qkv_all_to_all', 'communication', 50, 80]] as const) {
    marks.push({ kind: 'begin', stage: name, step: k, t: b + s, source: 'http', timing: 'cuda', category }, { kind: 'end', stage: name, step: k, t: b + e, source: 'http', timing: 'cuda', category });
  }
}
const input: ReportInput = { run: { id: 'r1', kind: 'run', startedAt: T0, endedAt: T0 + 200, exitCode: 0 }, hosts: [{ host: 'h', gpus: [], samples: [], marks }] };
const report = addBreakdown(buildReport(input, DEFAULT_THRESHOLDS), input);

describe('breakdown in the markdown and HTML reports', () => {
  it('shows the headline and the per-step tables', () => {
    const md = reportMarkdown(report);
    expect(md).toContain('| request_total ms (host; first to last top-level stage) | 110.0 |');
    expect(md).toContain('| denoise_step mean ms (cuda: step spans) | 100.00 |');
    expect(md).toContain('| qkv_all_to_all ms per step (cuda) | 30.000 |');
    expect(md).toContain('Step timing: cuda clock, each rank\'s denoise_step timed as a span. Step ms: mean 100.00, p50 100.00, p95 100.00 over 2 steps.');
    expect(md).toContain('The denoise_step marks read mean 10.00, p50 10.00, p95 10.00 ms on the host clock: when the workload marked them, which runs ahead of the GPU, so not the steps\' GPU time.');
    expect(md).toContain('Spans: cuda clock.\n');
    expect(md).toContain('| qkv_all_to_all | communication | cuda | 1.0 | 30.000 | 30.000 | 30.000 | 30.0 | 0: 30.000 |');
    expect(md).toContain('| category (union of its spans) | ms/step mean | p50 | p95 | share of step % |');
    expect(md).toContain('Communication per step: 30.000 ms; exposed (not overlapped by compute): 20.000 ms.');
    expect(md).toContain('| category | communication & compute | 10.000 | 10.000 | 10.000 |');
    expect(md).toContain('| step | step ms (cuda) | marked ms (host) | communication ms | compute ms | exposed comm ms |');
    expect(md).toContain('| 1 | 100.00 | 10.00 | 30.000 | 60.000 | 20.000 |');
    const html = reportHtml(report);
    expect(html).toContain('<h2>Headline</h2>');
    expect(html).toMatch(/<table class="spans">.*<td>qkv_all_to_all<\/td><td>communication<\/td><td>cuda<\/td>/s);
    expect(html).toContain('<table class="per-step"><thead><tr><th>step</th><th>step ms (cuda)</th><th>marked ms (host)</th>');
    expect(html).toContain('<p class="muted step-timing">Step timing: cuda clock');
  });
});

describe('compare renderings', () => {
  const fig = (runId: string, config: string, v: number, steps: number[]): RunFigures => ({ runId, labels: { config }, values: { step_mean_ms: { value: v, per_step: steps } } });
  const res = compareRuns('a', [fig('a', 'x,y', 100, [99, 101, 100]), fig('b', 'z', 110, [109, 111, 110])], { metrics: ['step_mean_ms'] });

  it('states the clock in the heading where all rows share one, in each cell where they do not', () => {
    const clocked = (runId: string, v: number, clock: string): RunFigures => ({ runId, labels: { config: runId }, values: { step_mean_ms: { value: v, per_step: [v - 1, v, v + 1], clock } } });
    const one = compareMarkdown(compareRuns('a', [clocked('a', 50, 'cuda'), clocked('b', 51, 'cuda')], { metrics: ['step_mean_ms'] }));
    expect(one).toContain('| config | runs | step mean ms (cuda) |');
    const two = compareMarkdown(compareRuns('a', [clocked('a', 35, 'host'), clocked('b', 52, 'cuda')], { metrics: ['step_mean_ms'] }));
    expect(two).toContain('| config | runs | step mean ms |');
    expect(two).toContain('| config=a | 1 | 35.000 (host) |');
    expect(two).toContain('| config=b | not comparable: host clock vs cuda clock |');
  });

  it('markdown: absolute values and the change with its interval, verdict and basis', () => {
    const md = compareMarkdown(res);
    expect(md).toContain('| config | runs | step mean ms |');
    expect(md).toContain('| config=x,y | 1 | 100.000 |');
    expect(md).toMatch(/\| config=z \| \+10\.00 % \[\+\d\.\d\d, \+\d+\.\d\d\] slower \(steps\) \|/);
  });

  it('csv: quoted where a field holds a comma', () => {
    const lines = compareCsv(res).trim().split('\n');
    expect(lines[0]).toBe('config,runs,step_mean_ms,step_mean_ms_sd,step_mean_ms_n,step_mean_ms_pct,step_mean_ms_ci_lo_pct,step_mean_ms_ci_hi_pct,step_mean_ms_verdict,step_mean_ms_basis,step_mean_ms_clock');
    expect(lines[1]).toBe('"config=x,y",a,100,,1,,,,baseline,,');
    expect(lines[2]).toMatch(/^config=z,b,110,,1,10,[\d.]+,[\d.]+,slower,steps,$/);
  });
});
