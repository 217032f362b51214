import type { HostBreakdown } from './breakdown.js';
import { meanOf, r3 } from './dist.js';
import { sampleStats, verdictOf, welchInterval, type Verdict } from './noise.js';
import type { Headline } from './spans-report.js';

/**
 * A/B over N runs: each run's headline figures, runs with the same labels grouped as repeats of
 * one configuration, and each configuration against the baseline's with a verdict. Pure.
 */

/** Built-in metrics, in table order; span metrics are `span:<name>` (per-step mean ms). */
export const BASE_METRICS = ['request_total_ms', 'step_mean_ms', 'comm_total_ms', 'exposed_comm_ms', 'reserved_peak_mib'] as const;

export interface RunFigures {
  runId: string;
  labels: Record<string, string>;
  /** Per metric: the run's value, where the metric is per step its per-step values, and the clock it was read on (null for memory). */
  values: Record<string, { value: number | null; per_step: number[]; clock?: string | null }>;
}

/** A run's metrics from its report's headline and breakdowns. */
export function runFigures(runId: string, labels: Record<string, string>, headline: Headline, breakdowns: ReadonlyArray<HostBreakdown | null>): RunFigures {
  const bds = breakdowns.filter((b): b is HostBreakdown => b !== null);
  const rows = bds.flatMap((b) => b.per_step);
  const span = headline.span_clock;
  const values: RunFigures['values'] = {
    request_total_ms: { value: headline.request_total_ms, per_step: [], clock: headline.request_clock },
    step_mean_ms: { value: headline.step_mean_ms, per_step: headline.step_clock === 'mixed' ? [] : bds.flatMap((b) => b.step_durations_ms), clock: headline.step_clock },
    comm_total_ms: { value: headline.comm_total_ms, per_step: headline.comm_total_ms === null ? [] : rows.map((r) => r.comm_ms), clock: span },
    exposed_comm_ms: { value: headline.exposed_comm_ms, per_step: rows.map((r) => r.exposed_comm_ms).filter((v): v is number => v !== null), clock: span },
    reserved_peak_mib: { value: headline.reserved_peak_mib, per_step: [], clock: null },
  };
  for (const [name, v] of Object.entries(headline.spans)) {
    const timings = new Set(bds.flatMap((b) => b.spans.filter((x) => x.name === name).map((x) => x.timing)));
    values[`span:${name}`] = { value: v, per_step: rows.map((r) => r.spans[name] ?? 0), clock: timings.size === 1 ? ([...timings][0] as string) : 'mixed' };
  }
  return { runId, labels, values };
}

export type Basis = 'repeats' | 'steps';

export interface Change {
  /** Configuration mean minus baseline mean, in the metric's unit. */
  diff: number | null;
  pct: number | null;
  /** Confidence interval of the difference, as % of the baseline mean. */
  ci_pct: [number, number] | null;
  verdict: Verdict;
  /** repeats: Welch over the runs' values; steps: Welch over per-step values (one run or more each, steps taken as independent). */
  basis: Basis | null;
  /** Why there is no verdict where the figures were read on different clocks (verdict `not comparable`). */
  note?: string;
}

export interface CompareRow {
  config: string;
  labels: Record<string, string>;
  runs: string[];
  /** clock: the one its runs read the metric on, `mixed` where they differ, null where none says (memory). */
  values: Record<string, { mean: number | null; sd: number | null; n: number; clock: string | null }>;
  /** Against the baseline; null on the baseline's own row. */
  change: Record<string, Change> | null;
}

export interface CompareResult {
  baseline: { run: string; config: string };
  confidence: number;
  by: 'config' | 'run';
  metrics: string[];
  rows: CompareRow[];
}

export const configOf = (f: Pick<RunFigures, 'runId' | 'labels'>, by: 'config' | 'run'): string => {
  const keys = Object.keys(f.labels).sort();
  return by === 'run' || keys.length === 0 ? f.runId : keys.map((k) => `${k}=${f.labels[k]}`).join(',');
};

/** Every metric any run has, built-ins first, spans by name. */
export function availableMetrics(runs: readonly RunFigures[]): string[] {
  const spans = [...new Set(runs.flatMap((r) => Object.keys(r.values).filter((k) => k.startsWith('span:'))))].sort();
  return [...BASE_METRICS, ...spans];
}

const isTime = (metric: string): boolean => metric.endsWith('_ms') || metric.startsWith('span:');

/** The clock a group of runs read a metric on: the one they share, `mixed` where they differ, null where none says. */
export function clockOf(metric: string, g: readonly RunFigures[]): string | null {
  const set = new Set(g.map((r) => r.values[metric]?.clock).filter((c): c is string => c !== null && c !== undefined));
  return set.size === 0 ? null : set.size > 1 ? 'mixed' : ([...set][0] as string);
}

function change(metric: string, base: readonly RunFigures[], other: readonly RunFigures[], confidence: number): Change {
  // A step timed by CUDA events beside one marked by the host (which runs ahead of the GPU) differs by the clocks, not the change.
  const ca = clockOf(metric, base);
  const cb = clockOf(metric, other);
  if (ca === 'mixed' || cb === 'mixed' || (ca !== null && cb !== null && ca !== cb)) {
    const note = ca === 'mixed' || cb === 'mixed' ? 'the runs of one configuration read it on different clocks' : `${ca} clock vs ${cb} clock`;
    return { diff: null, pct: null, ci_pct: null, verdict: 'not comparable', basis: null, note };
  }
  const vals = (g: readonly RunFigures[]): number[] => g.map((r) => r.values[metric]?.value).filter((v): v is number => v !== null && v !== undefined);
  const a = vals(base);
  const b = vals(other);
  const ma = meanOf(a);
  const mb = meanOf(b);
  if (ma === null || mb === null) return { diff: null, pct: null, ci_pct: null, verdict: 'no estimate', basis: null };
  const steps = (g: readonly RunFigures[]): number[] => g.flatMap((r) => r.values[metric]?.per_step ?? []);
  let basis: Basis | null = null;
  let iv = null;
  if (a.length >= 2 && b.length >= 2) {
    basis = 'repeats';
    iv = welchInterval(a, b, confidence);
  } else {
    iv = welchInterval(steps(base), steps(other), confidence);
    if (iv) basis = 'steps';
  }
  const pctOf = (x: number): number => (ma === 0 ? NaN : (x / ma) * 100);
  const ci = iv ? ([r3(pctOf(iv.ci[0])), r3(pctOf(iv.ci[1]))] as [number, number]) : null;
  return {
    diff: r3(mb - ma),
    pct: ma === 0 ? null : r3(pctOf(mb - ma)),
    ci_pct: ci && Number.isFinite(ci[0]) && Number.isFinite(ci[1]) ? ci : null,
    verdict: verdictOf(iv ? iv.ci : null, isTime(metric)),
    basis,
  };
}

/** The table: one row per configuration (or run), the baseline's first, each judged against it. */
export function compareRuns(baselineRun: string, runs: readonly RunFigures[], opts: { metrics?: readonly string[]; confidence?: number; by?: 'config' | 'run' } = {}): CompareResult {
  const by = opts.by ?? 'config';
  const confidence = opts.confidence ?? 0.95;
  const base = runs.find((r) => r.runId === baselineRun);
  if (!base) throw new Error(`baseline run ${JSON.stringify(baselineRun)} is not among the runs compared`);
  const metrics = opts.metrics ? [...opts.metrics] : availableMetrics(runs);
  const groups = new Map<string, RunFigures[]>();
  const baseKey = configOf(base, by);
  groups.set(baseKey, []);
  for (const r of runs) {
    const k = configOf(r, by);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const baseGroup = groups.get(baseKey) as RunFigures[];
  const rows = [...groups].map(([config, g]): CompareRow => ({
    config,
    labels: g[0]?.labels ?? {},
    runs: g.map((r) => r.runId),
    values: Object.fromEntries(
      metrics.map((m) => {
        const xs = g.map((r) => r.values[m]?.value).filter((v): v is number => v !== null && v !== undefined);
        const s = xs.length > 0 ? sampleStats(xs) : null;
        return [m, { mean: s ? r3(s.mean) : null, sd: s && s.n > 1 ? r3(Math.sqrt(s.variance)) : null, n: xs.length, clock: clockOf(m, g) }];
      }),
    ),
    change: config === baseKey ? null : Object.fromEntries(metrics.map((m) => [m, change(m, baseGroup, g, confidence)])),
  }));
  return { baseline: { run: baselineRun, config: baseKey }, confidence, by, metrics, rows };
}
