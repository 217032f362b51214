import type { CompareResult } from '../src/analysis/compare-runs.js';
import { absoluteTable, changeTable } from '../src/report/compare-text.js';
import { getJson, h } from './dom.js';

export interface CompareState {
  page: 'compare';
  rows: number;
  metrics: number;
}

function table(cls: string, t: { head: string[]; rows: string[][] }): HTMLElement {
  return h(
    'table',
    { class: cls },
    h('thead', {}, h('tr', {}, ...t.head.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...t.rows.map((r) => h('tr', {}, ...r.map((c, i) => h('td', i > 0 ? { class: 'num' } : {}, c))))),
  );
}

/** `#/compare?baseline=A&runs=B,C[&metrics=..&by=run]`: the table `stagewatch-collector compare` prints. */
export async function comparePage(root: HTMLElement, query: URLSearchParams, state: CompareState): Promise<() => void> {
  const params = new URLSearchParams();
  for (const k of ['baseline', 'runs', 'metrics', 'by', 'confidence']) {
    const v = query.get(k);
    if (v !== null) params.set(k, v);
  }
  const r = await getJson<CompareResult>(`/api/compare?${params.toString()}`);
  root.append(
    h('h1', {}, 'Compare: baseline ', h('code', {}, r.baseline.config), ` (run ${r.baseline.run})`),
    table('compare-abs', absoluteTable(r)),
    h('h2', {}, 'Change against the baseline'),
    table('compare-pct', changeTable(r)),
    h('p', { class: 'muted' }, `Verdicts at ${Math.round(r.confidence * 100)} % confidence; interval in % of the baseline mean. repeats: Welch over each configuration's runs; steps: Welch over per-step values (one run per configuration).`),
  );
  Object.assign(state, { rows: r.rows.length, metrics: r.metrics.length });
  return () => {};
}
