import { NotFoundError, UsageError } from '@stagewatch/shared';
import { availableMetrics, compareRuns, runFigures, type CompareResult } from '../analysis/compare-runs.js';
import type { SqliteStore } from '../store/sqlite.js';
import { runReport } from './index.js';

export interface CompareRequest {
  baseline: string;
  runs: readonly string[];
  metrics?: readonly string[];
  by?: 'config' | 'run';
  confidence?: number;
}

/** `compare` and GET /api/compare: every run's report from the store, then the table. */
export function makeCompare(store: SqliteStore, req: CompareRequest): CompareResult {
  const ids = [...new Set([req.baseline, ...req.runs])];
  const figures = ids.map((id) => {
    const run = store.run(id);
    if (!run) throw new NotFoundError(`no run ${JSON.stringify(id)} in the store`);
    const r = runReport(store, id);
    return runFigures(id, run.labels, r.headline, r.hosts.map((h) => h.breakdown));
  });
  if (req.metrics) {
    const known = availableMetrics(figures);
    const unknown = req.metrics.filter((m) => !known.includes(m));
    if (unknown.length > 0) throw new UsageError(`unknown metric ${unknown.map((m) => JSON.stringify(m)).join(', ')}; these runs have ${known.join(', ')}`);
  }
  return compareRuns(req.baseline, figures, {
    ...(req.metrics ? { metrics: req.metrics } : {}),
    ...(req.by ? { by: req.by } : {}),
    ...(req.confidence !== undefined ? { confidence: req.confidence } : {}),
  });
}
