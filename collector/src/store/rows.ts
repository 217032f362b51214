import { encodeSampleBlocks, type Batch, type Mark, type Sample, type SampleBlock } from '@stagewatch/shared';

/** A marks row; gauges (JSON) only where the query selects them. */
export interface MarkRow {
  t: number;
  kind: 'begin' | 'end';
  stage: string;
  step: number | null;
  rank: number | null;
  source: Mark['source'];
  gauges?: string | null;
  timing?: Mark['timing'] | null;
  category?: string | null;
  dropped?: number | null;
  inferred?: string | null;
}

type Optional = 'step' | 'rank' | 'gauges' | 'timing' | 'category' | 'dropped' | 'inferred';

/** A marks row back into a mark, optional fields only where set. */
export function markFromRow<R extends MarkRow>(r: R): Omit<R, Optional> & Pick<StoredMark, Optional> {
  const { step, rank, gauges, timing, category, dropped, inferred, ...rest } = r;
  return {
    ...rest,
    ...(step !== null ? { step } : {}),
    ...(rank !== null ? { rank } : {}),
    ...(inferred !== null && inferred !== undefined ? { inferred } : {}),
    ...(gauges !== null && gauges !== undefined ? { gauges: JSON.parse(gauges) as Record<string, number> } : {}),
    ...(timing !== null && timing !== undefined ? { timing } : {}),
    ...(category !== null && category !== undefined ? { category } : {}),
    ...(dropped !== null && dropped !== undefined ? { dropped } : {}),
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
  /** The batch's fields; its samples are in `blocks` (a JSON batch's `samples` are not read). */
  batch: Omit<Batch, 'samples'>;
  /** The samples as column blocks (a columnar frame's, or a JSON batch's encoded). */
  blocks: readonly SampleBlock[];
  /** How many samples the blocks hold. */
  samples: number;
}

/** A JSON batch of an agent as the store takes it: its samples encoded into blocks. */
export function pendingBatch(agentId: string, hid: number, host: string, batch: Batch): PendingBatch {
  return { agentId, hid, host, batch, blocks: encodeSampleBlocks(batch.samples), samples: batch.samples.length };
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
  /** The run's first sample or mark (collector clock); before any data, when it was registered. */
  startedAt: number;
  endedAt: number | null;
  /** The workload's exit code; 128+N when signal N ended it (130 for SIGINT, 143 for SIGTERM). */
  exitCode: number | null;
  /** The signal that interrupted the workload (`SIGINT`, `SIGTERM`, ...), or null. */
  signal: string | null;
  /** `run --label key=value` ({} where none were given). */
  labels: Record<string, string>;
}

/** A host as GET /api/hosts lists it: the run it streams to (or last did) and when it was last heard. */
export interface HostSeen {
  host: string;
  runId: string;
  lastSeen: number;
  gpus: Array<{ index: number; name: string }>;
}

export interface StoredSample extends Sample {}

export interface StoredMark extends Omit<Mark, 't'> {
  host: string;
  t: number;
}
