import type { Report } from '../analysis/report.js';

/**
 * What a report with nothing in its tables should say instead of an empty table, or null when
 * there is something to show. A host timeline has no stages (stages come from `agent run`, log
 * presets or marks); a run can also have stored no data at all.
 */
export function emptyReportNote(r: Pick<Report, 'run' | 'hosts'>): string | null {
  if (r.hosts.some((h) => h.stages.length > 0)) return null;
  if (r.run.hosts.length === 0) return `run ${r.run.id} has no data: no agent has sent samples or marks to it`;
  const what = r.run.kind === 'timeline' ? 'it is a host timeline, and stages come from `stagewatch-agent run` (log presets, marks) or `stagewatch-agent marks`' : 'no stage marks arrived for it';
  return `run ${r.run.id} has no stages (${what}), so the stage tables are empty`;
}
