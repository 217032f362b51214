import type { Change, CompareResult } from '../analysis/compare-runs.js';

/** Table text of a comparison, shared by the CLI renderers and the web UI (no DOM, no Node). */

/** Column heading of a metric: `span:qkv_all_to_all` reads "qkv_all_to_all ms/step". */
export function metricLabel(m: string): string {
  if (m.startsWith('span:')) return `${m.slice(5)} ms/step`;
  const fixed: Record<string, string> = {
    request_total_ms: 'request_total ms',
    step_mean_ms: 'step mean ms',
    comm_total_ms: 'comm_total ms/step',
    exposed_comm_ms: 'exposed comm ms/step',
    reserved_peak_mib: 'reserved_peak MiB',
  };
  return fixed[m] ?? m;
}

const num = (v: number | null, d: number): string => (v === null ? '–' : v.toFixed(d));
const digits = (m: string): number => (m === 'reserved_peak_mib' ? 0 : m === 'request_total_ms' ? 1 : 3);
const signed = (v: number): string => `${v > 0 ? '+' : ''}${v.toFixed(2)}`;

export function changeText(c: Change): string {
  if (c.pct === null) return c.note ? `${c.verdict}: ${c.note}` : c.verdict;
  const ci = c.ci_pct ? ` [${signed(c.ci_pct[0])}, ${signed(c.ci_pct[1])}]` : '';
  return `${signed(c.pct)} %${ci} ${c.verdict}${c.basis ? ` (${c.basis})` : ''}`;
}

/** The clock every row read a metric on, or null where rows differ or none says (then each cell says its own). */
export function sharedClock(r: CompareResult, m: string): string | null {
  const set = new Set(r.rows.map((row) => row.values[m]?.clock ?? null));
  return set.size === 1 ? ([...set][0] ?? null) : null;
}

/** Column heading with the clock its figures were read on, where all rows share one: "step mean ms (cuda)". */
const heading = (r: CompareResult, m: string): string => {
  const c = sharedClock(r, m);
  return c === null ? metricLabel(m) : `${metricLabel(m)} (${c})`;
};

export function absoluteTable(r: CompareResult): { head: string[]; rows: string[][] } {
  return {
    head: ['config', 'runs', ...r.metrics.map((m) => heading(r, m))],
    rows: r.rows.map((row) => [
      row.config,
      String(row.runs.length),
      ...r.metrics.map((m) => {
        const v = row.values[m];
        if (!v || v.mean === null) return '–';
        const own = sharedClock(r, m) === null && v.clock ? ` (${v.clock})` : '';
        return `${num(v.mean, digits(m))}${v.sd !== null ? ` ± ${num(v.sd, digits(m))}` : ''}${own}`;
      }),
    ]),
  };
}

export function changeTable(r: CompareResult): { head: string[]; rows: string[][] } {
  return {
    head: ['config', ...r.metrics.map((m) => heading(r, m))],
    rows: r.rows.filter((row) => row.change !== null).map((row) => [row.config, ...r.metrics.map((m) => (row.change?.[m] ? changeText(row.change[m]) : '–'))]),
  };
}

