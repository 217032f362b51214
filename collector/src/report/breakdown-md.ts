import type { HostBreakdown } from '../analysis/breakdown.js';
import type { Dist } from '../analysis/dist.js';
import type { Headline } from '../analysis/spans-report.js';

const n = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? '–' : v.toFixed(d));
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const d3 = (x: Dist | null | undefined, d = 2): string[] => [n(x?.mean, d), n(x?.p50, d), n(x?.p95, d)];

const SOURCE: Record<string, string> = { 'step-spans': 'step spans', 'span-ends': 'from span ends', 'step-marks': 'step marks', mixed: 'mixed sources' };

/** The run's headline figures as rows of figure and value: the numbers a comparison is made of. Each time says its clock. */
export function headlineRows(h: Headline): Array<[string, string]> {
  const req = [h.request_clock, h.request_source === 'stages' ? 'first to last top-level stage' : null].filter((x) => x !== null).join('; ');
  const step = h.step_clock === null ? '' : ` (${h.step_clock}${h.step_source ? `: ${SOURCE[h.step_source] ?? h.step_source}` : ''})`;
  const span = h.span_clock === null ? '' : ` (${h.span_clock})`;
  return [
    [`request_total ms${req ? ` (${req})` : ''}`, n(h.request_total_ms)],
    [`${h.step_stage ?? 'step'} mean ms${step}`, n(h.step_mean_ms, 2)],
    [`comm_total ms per step${span}`, n(h.comm_total_ms, 3)],
    [`exposed communication ms per step${span}`, n(h.exposed_comm_ms, 3)],
    ...Object.entries(h.spans).map(([k, v]): [string, string] => [`${k} ms per step${span}`, n(v, 3)]),
    ['reserved_peak MiB', n(h.reserved_peak_mib, 0)],
  ];
}

/** What the step durations are and which clock they are on; where shares are refused, why. Shared by md, HTML and the UI. */
export function stepTimingLines(b: HostBreakdown): string[] {
  const name = b.step_stage ?? 'step';
  const out: string[] = [];
  if (b.step_clock === null || !b.step_ms) out.push('Step timing: none (steps known only from span step numbers).');
  else {
    const how =
      b.step_source === 'step-spans'
        ? `each rank's ${name} timed as a span`
        : b.step_source === 'span-ends'
          ? `derived from the spans: end of the last span of step i-1 to the end of the last span of step i (a first step has none)`
          : `the ${name} begin/end marks${b.step_clock === 'cuda' ? '' : ': when the workload marked the step, not when the GPU ran it'}`;
    out.push(`Step timing: ${b.step_clock} clock, ${how}. Step ms: mean ${n(b.step_ms.mean, 2)}, p50 ${n(b.step_ms.p50, 2)}, p95 ${n(b.step_ms.p95, 2)} over ${b.step_durations_ms.length} step${b.step_durations_ms.length === 1 ? '' : 's'}.`);
  }
  if (b.host_step_ms && b.step_source !== 'step-marks') {
    out.push(`The ${name} marks read mean ${n(b.host_step_ms.mean, 2)}, p50 ${n(b.host_step_ms.p50, 2)}, p95 ${n(b.host_step_ms.p95, 2)} ms on the ${b.host_step_clock} clock: when the workload marked them, which runs ahead of the GPU, so not the steps' GPU time.`);
  }
  if (b.span_clock !== null) out.push(`Spans: ${b.span_clock} clock.${b.share_refused ? ` Shares of the step not given: ${b.share_refused}.` : ''}`);
  return out;
}

export function headlineMarkdown(h: Headline): string[] {
  return ['## Headline', '', '| figure | value |', '| --- | ---: |', ...headlineRows(h).map(([k, v]) => `| ${cell(k)} | ${v} |`), ''];
}

/** Whether the per-step table shows the step marks' own durations beside a step clock that is not theirs. */
export const hostColumn = (b: HostBreakdown): boolean => b.host_step_clock !== null && b.step_source !== 'step-marks';

/** The per-step table's duration headings, each with its clock. */
export function perStepHead(b: HostBreakdown): string[] {
  return [`step ms (${b.step_clock ?? 'unknown'})`, ...(hostColumn(b) ? [`marked ms (${b.host_step_clock})`] : [])];
}

/** A host's per-step breakdown: spans summarised over steps, never listed one by one. */
export function breakdownMarkdown(b: HostBreakdown): string[] {
  const out: string[] = [];
  out.push(`### Per-step breakdown${b.step_stage ? ` over ${cell(b.step_stage)}` : ' over span step numbers'}: ${b.steps} steps with spans, ranks ${b.ranks.join(', ') || '–'}`, '');
  for (const line of stepTimingLines(b)) out.push(cell(line), '');
  if (b.spans.length > 0) {
    out.push('| span | category | timing | count/step | ms/step mean | p50 | p95 | share of step % | per rank mean ms |', '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const s of b.spans) {
      out.push(`| ${cell(s.name)} | ${cell(s.category)} | ${s.timing} | ${n(s.count_per_step, 1)} | ${d3(s.total_ms, 3).join(' | ')} | ${n(s.share_pct)} | ${s.per_rank.map((r) => `${r.rank}: ${n(r.total_ms_mean, 3)}`).join(', ')} |`);
    }
    out.push('');
  }
  if (b.categories.length > 0) {
    out.push('| category (union of its spans) | ms/step mean | p50 | p95 | share of step % |', '| --- | ---: | ---: | ---: | ---: |');
    for (const c of b.categories) out.push(`| ${cell(c.category)} | ${d3(c.union_ms, 3).join(' | ')} | ${n(c.share_pct)} |`);
    out.push('');
  }
  if (b.comm_ms) out.push(`Communication per step: ${n(b.comm_ms.mean, 3)} ms; exposed (not overlapped by compute): ${b.exposed_comm_ms ? `${n(b.exposed_comm_ms.mean, 3)} ms` : 'unknown (no compute spans)'}.`, '');
  if (b.overlaps.length > 0) {
    out.push('| overlap | between | ms/step mean | p50 | p95 |', '| --- | --- | ---: | ---: | ---: |');
    for (const o of b.overlaps) out.push(`| ${o.kind} | ${cell(o.a)} & ${cell(o.b)} | ${d3(o.overlap_ms, 3).join(' | ')} |`);
    out.push('');
  }
  if (b.per_step.length > 0) {
    const cats = b.categories.map((c) => c.category);
    const host = hostColumn(b);
    out.push(
      `| step | ${perStepHead(b).map(cell).join(' | ')} | ${cats.map((c) => `${cell(c)} ms`).join(' | ')} | exposed comm ms |`,
      `| ---: | ---: |${host ? ' ---: |' : ''} ${cats.map(() => '---:').join(' | ')} | ---: |`,
    );
    for (const r of b.per_step) out.push(`| ${r.step} | ${n(r.duration_ms, 2)} |${host ? ` ${n(r.host_duration_ms, 2)} |` : ''} ${cats.map((c) => n(r.categories[c], 3)).join(' | ')} | ${n(r.exposed_comm_ms, 3)} |`);
    out.push('');
  }
  if (b.outside_steps.length > 0) out.push(`Spans outside any step: ${b.outside_steps.map((o) => `${cell(o.name)} ×${o.count} (${n(o.total_ms, 1)} ms)`).join(', ')}.`, '');
  return out;
}
