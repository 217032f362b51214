import type { Batch, Mark, Sample } from '@stagewatch/shared';

/** A samples row as the store keeps it: source as its index in SOURCES, metrics packed. */
export interface SampleRow {
  t: number;
  source: number;
  gpu: number | null;
  m: Uint8Array;
}

/** A marks row; gauges (JSON) only where the query selects them. */
export interface MarkRow {
  t: number;
  kind: 'begin' | 'end';
  stage: string;
  step: number | null;
  rank: number | null;
  source: Mark['source'];
  gauges?: string | null;
}

/** A marks row back into a mark, optional fields only where set. */
export function markFromRow<R extends MarkRow>(r: R): Omit<R, 'step' | 'rank' | 'gauges'> & Pick<StoredMark, 'step' | 'rank' | 'gauges'> {
  const { step, rank, gauges, ...rest } = r;
  return {
    ...rest,
    ...(step !== null ? { step } : {}),
    ...(rank !== null ? { rank } : {}),
    ...(gauges !== null && gauges !== undefined ? { gauges: JSON.parse(gauges) as Record<string, number> } : {}),
  };
}

export interface AgentRegistration {
  rid: number;
  hid: number;
  runId: string;
  storedThrough: number;
}

export interface PendingBatch {
  agentId: string;
  hid: number;
  host: string;
  batch: Batch;
}

export interface WriteResult {
  /** Per item, in order: true where that (agent, seq) was already stored. */
  duplicate: boolean[];
  samples: number;
}

export interface RunSummary {
  id: string;
  kind: 'run' | 'timeline';
  hosts: string[];
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
}

export interface StoredSample extends Sample {}

export interface StoredMark extends Omit<Mark, 't'> {
  host: string;
  t: number;
}
