import type { HostBreakdown } from '../src/analysis/breakdown.js';
import type { Headline } from '../src/analysis/spans-report.js';
import { headlineRows, stepTimingLines } from '../src/report/breakdown-md.js';
import { fmt, h } from './dom.js';

/** The run's headline figures and each host's per-step span breakdown, as on the report. */
function table(cls: string, head: string[], rows: Array<Array<string>>, numFrom = 1): HTMLElement {
  return h(
    'table',
    { class: cls },
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => h('td', i >= numFrom ? { class: 'num' } : {}, c))))),
  );
}

export function headlineTable(hl: Headline): HTMLElement {
  return h('section', { class: 'headline' }, h('h2', {}, 'Headline'), table('headline', ['figure', 'value'], headlineRows(hl)));
}

export function breakdownSection(b: HostBreakdown): HTMLElement {
  const sec = h('section', { class: 'breakdown' }, h('h3', {}, `Per-step breakdown${b.step_stage ? ` over ${b.step_stage}` : ''}: ${b.steps} steps with spans, ranks ${b.ranks.join(', ') || '–'}`));
  for (const line of stepTimingLines(b)) sec.append(h('p', { class: 'muted step-timing' }, line));
  if (b.spans.length > 0) {
    sec.append(table('spans', ['span', 'category', 'timing', 'count/step', 'ms/step mean', 'p50', 'p95', 'share of step %'], b.spans.map((s) => [s.name, s.category, s.timing, fmt(s.count_per_step, 1), fmt(s.total_ms.mean, 3), fmt(s.total_ms.p50, 3), fmt(s.total_ms.p95, 3), fmt(s.share_pct, 1)]), 3));
  }
  if (b.categories.length > 0) sec.append(table('categories', ['category (union)', 'ms/step mean', 'p50', 'p95', 'share of step %'], b.categories.map((c) => [c.category, fmt(c.union_ms.mean, 3), fmt(c.union_ms.p50, 3), fmt(c.union_ms.p95, 3), fmt(c.share_pct, 1)])));
  if (b.comm_ms) sec.append(h('p', {}, `Communication per step ${fmt(b.comm_ms.mean, 3)} ms; exposed (not overlapped by compute) ${b.exposed_comm_ms ? `${fmt(b.exposed_comm_ms.mean, 3)} ms` : 'unknown (no compute spans)'}`));
  if (b.overlaps.length > 0) sec.append(table('overlaps', ['overlap', 'between', 'ms/step mean', 'p50', 'p95'], b.overlaps.map((o) => [o.kind, `${o.a} & ${o.b}`, fmt(o.overlap_ms.mean, 3), fmt(o.overlap_ms.p50, 3), fmt(o.overlap_ms.p95, 3)]), 2));
  return sec;
}
