import type { HostBreakdown } from '../analysis/breakdown.js';
import type { Headline } from '../analysis/spans-report.js';
import { headlineRows, hostColumn, perStepHead, stepTimingLines } from './breakdown-md.js';
import { esc } from './html.js';

const n = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? '–' : v.toFixed(d));
const row = (cells: string[], num: boolean[] = []): string => `<tr>${cells.map((c, i) => `<td${num[i] ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
const head = (cols: string[]): string => `<thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`;

export function headlineHtml(h: Headline): string {
  return `<h2>Headline</h2><table class="headline">${head(['figure', 'value'])}<tbody>${headlineRows(h).map(([k, v]) => row([esc(k), v], [false, true])).join('')}</tbody></table>`;
}

/** A host's per-step breakdown as tables (the markdown form, in HTML). */
export function breakdownHtml(b: HostBreakdown): string {
  const parts: string[] = [`<h3>Per-step breakdown${b.step_stage ? ` over ${esc(b.step_stage)}` : ''}: ${b.steps} steps with spans, ranks ${b.ranks.join(', ') || '–'}</h3>`];
  for (const line of stepTimingLines(b)) parts.push(`<p class="muted step-timing">${esc(line)}</p>`);
  if (b.spans.length > 0) {
    parts.push(`<table class="spans">${head(['span', 'category', 'timing', 'count/step', 'ms/step mean', 'p50', 'p95', 'share of step %', 'per rank mean ms'])}<tbody>${b.spans
      .map((s) => row([esc(s.name), esc(s.category), s.timing, n(s.count_per_step), n(s.total_ms.mean, 3), n(s.total_ms.p50, 3), n(s.total_ms.p95, 3), n(s.share_pct), esc(s.per_rank.map((r) => `${r.rank}: ${n(r.total_ms_mean, 3)}`).join(', '))], [false, false, false, true, true, true, true, true]))
      .join('')}</tbody></table>`);
  }
  if (b.categories.length > 0) {
    parts.push(`<table class="categories">${head(['category (union)', 'ms/step mean', 'p50', 'p95', 'share of step %'])}<tbody>${b.categories
      .map((c) => row([esc(c.category), n(c.union_ms.mean, 3), n(c.union_ms.p50, 3), n(c.union_ms.p95, 3), n(c.share_pct)], [false, true, true, true, true]))
      .join('')}</tbody></table>`);
  }
  if (b.comm_ms) parts.push(`<p>Communication per step ${n(b.comm_ms.mean, 3)} ms; exposed (not overlapped by compute) ${b.exposed_comm_ms ? `${n(b.exposed_comm_ms.mean, 3)} ms` : 'unknown (no compute spans)'}</p>`);
  if (b.overlaps.length > 0) {
    parts.push(`<table class="overlaps">${head(['overlap', 'between', 'ms/step mean', 'p50', 'p95'])}<tbody>${b.overlaps
      .map((o) => row([o.kind, `${esc(o.a)} &amp; ${esc(o.b)}`, n(o.overlap_ms.mean, 3), n(o.overlap_ms.p50, 3), n(o.overlap_ms.p95, 3)], [false, false, true, true, true]))
      .join('')}</tbody></table>`);
  }
  if (b.per_step.length > 0) {
    const cats = b.categories.map((c) => c.category);
    const host = hostColumn(b);
    parts.push(`<table class="per-step">${head(['step', ...perStepHead(b), ...cats.map((c) => `${c} ms`), 'exposed comm ms'])}<tbody>${b.per_step
      .map((r) => row([String(r.step), n(r.duration_ms, 2), ...(host ? [n(r.host_duration_ms, 2)] : []), ...cats.map((c) => n(r.categories[c], 3)), n(r.exposed_comm_ms, 3)], [true, true, ...(host ? [true] : []), ...cats.map(() => true), true]))
      .join('')}</tbody></table>`);
  }
  if (b.outside_steps.length > 0) parts.push(`<p class="muted">outside any step: ${b.outside_steps.map((o) => `${esc(o.name)} ×${o.count} (${n(o.total_ms)} ms)`).join(', ')}</p>`);
  return parts.join('\n');
}
