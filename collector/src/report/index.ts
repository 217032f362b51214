import { readFileSync } from 'node:fs';
import { UsageError } from '@stagewatch/shared';
import { DEFAULT_THRESHOLDS, RETIRED_THRESHOLDS, ThresholdsSchema, type Thresholds } from '../analysis/thresholds.js';
import { compareReports, type StageComparison } from '../analysis/compare.js';
import type { Report } from '../analysis/report.js';
import { addBreakdown, type SpannedReport } from '../analysis/spans-report.js';
import type { SqliteStore } from '../store/sqlite.js';
import { reportHtml } from './html.js';
import { reportFromStore } from './load.js';
import { reportMarkdown } from './markdown.js';
import { bucketSeriesFromStore, type Series } from './series.js';

export type ReportFormat = 'json' | 'md' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'md', 'html'];

export type ReportJson = SpannedReport & { compare?: StageComparison[]; vs?: Report };

/** GET /api/runs/:id/report and `report --format json`: the compared run is named, not repeated. */
export type ReportJsonBody = Omit<ReportJson, 'vs'> & { vs?: Pick<Report, 'run'> };

/** One run's report with its per-step span breakdown and headline figures. */
export function runReport(store: SqliteStore, runId: string, thresholds: Thresholds = DEFAULT_THRESHOLDS): SpannedReport {
  const { report, input } = reportFromStore(store, runId, thresholds);
  return addBreakdown(report, input);
}

/** The report of one run, and with `vs` its stage-by-stage comparison with another. */
export function makeReport(store: SqliteStore, runId: string, vs?: string, thresholds: Thresholds = DEFAULT_THRESHOLDS): ReportJson {
  const a = runReport(store, runId, thresholds);
  if (vs === undefined) return a;
  const b = runReport(store, vs, thresholds);
  return { ...a, compare: compareReports(a, b), vs: b };
}

/** Renders a report; the HTML form also reads each host's samples from the store for its charts. */
export function renderReport(r: ReportJson, format: ReportFormat, store?: SqliteStore): string {
  if (format === 'json') {
    const { vs, ...rest } = r;
    const body: ReportJsonBody = vs ? { ...rest, vs: { run: vs.run } } : rest;
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  const cmp = r.vs && r.compare ? { vs: r.vs, rows: r.compare } : undefined;
  if (format === 'md') return reportMarkdown(r, cmp);
  const series: Record<string, Series> = {};
  if (store) for (const h of r.hosts) series[h.host] = bucketSeriesFromStore(store, r.run.id, h.host, 900, r.thresholds.gpmLagMs);
  return reportHtml(r, cmp, series);
}

export function readThresholds(file: string): Thresholds {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--thresholds ${file}: ${(e as Error).message}`);
  }
  const retired = raw !== null && typeof raw === 'object' ? Object.keys(raw).find((k) => k in RETIRED_THRESHOLDS) : undefined;
  if (retired) throw new UsageError(`--thresholds ${file}: ${retired}: ${RETIRED_THRESHOLDS[retired]}`);
  const parsed = ThresholdsSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`--thresholds ${file}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  return parsed.data;
}
