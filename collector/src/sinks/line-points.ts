import { Point } from '@influxdata/influxdb-client';
import type { StageInterval } from '../analysis/stages.js';
import type { StoredMark, StoredSample } from '../store/sqlite.js';

/**
 * Measurements and tags written to InfluxDB (docs/INFLUX.md). Every metric is a float field so a
 * field never changes type; tags are the things one filters and groups by.
 */
export const MEASUREMENT = { gpu: 'stagewatch_gpu', host: 'stagewatch_host', proc: 'stagewatch_proc', stage: 'stagewatch_stage' } as const;

/** The tags each measurement may carry (docs/INFLUX.md). */
export const TAGS: Record<string, readonly string[]> = {
  stagewatch_gpu: ['host', 'run', 'stage', 'step', 'gpu', 'gpu_uuid', 'gpu_name'],
  stagewatch_host: ['host', 'run', 'stage', 'step'],
  stagewatch_proc: ['host', 'run', 'stage', 'step'],
  stagewatch_stage: ['host', 'run', 'stage', 'kind', 'step', 'rank'],
};

/** stagewatch_stage's fields; the sample measurements' fields are the metric catalogue's keys. */
export const STAGE_FIELDS = ['value', 'duration_s'] as const;

export interface SampleContext {
  runId: string;
  stage: string | null;
  step: number | null;
  gpuUuid?: string;
  gpuName?: string;
}

/** Per-process samples (`pid` set): `stagewatch_process`, tagged `pid`. */
export const PROCESS_MEASUREMENT = 'stagewatch_process';

export function samplePoint(s: StoredSample, ctx: SampleContext): Point {
  // One workload process rather than the tree total goes to a measurement of its own, so queries
  // and dashboards over stagewatch_proc keep reading the tree total alone.
  const p = new Point(s.pid !== undefined ? PROCESS_MEASUREMENT : MEASUREMENT[s.source]).tag('host', s.host).tag('run', ctx.runId).timestamp(Math.round(s.t));
  if (ctx.stage) p.tag('stage', ctx.stage);
  if (ctx.step !== null) p.tag('step', String(ctx.step));
  if (s.source === 'gpu' && s.gpu !== undefined) {
    p.tag('gpu', String(s.gpu));
    if (ctx.gpuUuid) p.tag('gpu_uuid', ctx.gpuUuid);
    if (ctx.gpuName) p.tag('gpu_name', ctx.gpuName);
  }
  if (s.pid !== undefined) p.tag('pid', String(s.pid));
  for (const [k, v] of Object.entries(s.m)) p.floatField(k, v);
  return p;
}

/** A stage boundary, for Grafana annotations: `value=1` at the mark, `duration_s` on ends. */
export function markPoint(m: StoredMark & { runId: string }, durationS: number | null): Point {
  const p = new Point(MEASUREMENT.stage).tag('host', m.host).tag('run', m.runId).tag('stage', m.stage).tag('kind', m.kind).timestamp(Math.round(m.t));
  if (m.step !== undefined) p.tag('step', String(m.step));
  if (m.rank !== undefined) p.tag('rank', String(m.rank));
  p.floatField('value', 1);
  if (durationS !== null) p.floatField('duration_s', durationS);
  return p;
}

/** The innermost named stage open at t, and the step inside it, if any. */
export function stageTagsAt(stages: readonly StageInterval[], t: number): { stage: string | null; step: number | null } {
  let stage: StageInterval | null = null;
  let step: StageInterval | null = null;
  for (const s of stages) {
    if (s.start > t) break;
    if (t >= s.end) continue;
    if (s.step === undefined) {
      if (!stage || s.depth >= stage.depth) stage = s;
    } else if (!step || s.depth >= step.depth) step = s;
  }
  return { stage: stage?.name ?? null, step: step?.step ?? null };
}
