import type { Sample } from '@stagewatch/shared';
import { buildReport, type HostReport, type StageReport } from '../../collector/src/analysis/report.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../collector/src/analysis/thresholds.js';

type Body = Omit<Sample, 't' | 'host'>;

/** Readings every stepMs in [from, to), each covering the step before it (dur_ms = stepMs unless given). */
export function every(from: number, to: number, stepMs: number, body: (t: number) => Body | Body[] | null): Sample[] {
  const out: Sample[] = [];
  for (let t = from + stepMs; t <= to; t += stepMs) {
    const b = body(t);
    for (const x of b === null ? [] : Array.isArray(b) ? b : [b]) out.push({ t, host: 'h', dur_ms: stepMs, ...x });
  }
  return out;
}

export const gpu = (index: number, m: Record<string, number>): Body => ({ source: 'gpu', gpu: index, m });
export const proc = (pid: number | undefined, m: Record<string, number>): Body => ({ source: 'proc', ...(pid !== undefined ? { pid } : {}), m });
export const host = (m: Record<string, number>): Body => ({ source: 'host', m });

export type MarkSpec = [name: string, start: number, end: number];

/** One host's report from samples (sorted by time unless asGiven) and [name, start, end] stages. */
export function hostReport(samples: Sample[], stages: readonly MarkSpec[], opts: { gpus?: readonly number[]; th?: Thresholds; asGiven?: boolean } = {}): HostReport {
  const { gpus = [0], th = DEFAULT_THRESHOLDS } = opts;
  const marks = stages.flatMap(([stage, s, e]) => [
    { t: s, kind: 'begin' as const, stage },
    { t: e, kind: 'end' as const, stage },
  ]);
  const sorted = opts.asGiven ? samples : [...samples].sort((a, b) => a.t - b.t);
  const r = buildReport({ run: { id: 'r', kind: 'run', startedAt: 0, endedAt: null, exitCode: 0 }, hosts: [{ host: 'h', gpus: gpus.map((index) => ({ index, name: 'GPU' })), samples: sorted, marks }] }, th);
  return r.hosts[0] as HostReport;
}

export const stageOf = (r: HostReport, name: string): StageReport => {
  const s = r.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name} in ${r.stages.map((x) => x.name).join(', ')}`);
  return s;
};
