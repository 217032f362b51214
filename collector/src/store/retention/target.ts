import type { RollInput, RollOutput } from './rollup.js';

/** A stored resolution: 0 the readings as agents sent them, else the roll-up bucket in ms. */
export type Resolution = 0 | 1000 | 10000;

export const RESOLUTIONS: readonly Resolution[] = [0, 1000, 10000];

/** A run and host: the unit a pruning step works in. */
export interface RunHost {
  rid: number;
  hid: number;
}

/** A stored block as the pruner takes it: its decoded readings and its place. */
export interface TargetBlock extends RollInput {
  /** The engine's id of the block, to delete it. */
  ref: number;
  /** Sequence number of its first reading (raw blocks; the sinks' numbering), 0 for roll-ups. */
  s0: number;
}

/** The readings of a block after a step's end, written back in its place (same resolution). */
export interface Remainder {
  block: TargetBlock;
  /** Readings before this index were rolled up or dropped. */
  from: number;
}

/** One pruning step's changes, applied in one transaction. */
export interface StepChange extends RunHost {
  res: Resolution;
  drop: readonly TargetBlock[];
  keep: readonly Remainder[];
  /** Roll-ups to add, and their resolution (null: the readings are deleted for good). */
  add: readonly RollOutput[];
  to: Resolution | null;
}

/**
 * What the pruner needs of a store: the few operations of a step, in terms an engine can
 * implement in SQL of its own (SQLite here, sqlite-target.ts; PostgreSQL, asynchronous, pg/retention.ts). The engine keeps
 * its handle; the pruner never sees it.
 */
export interface RetentionTarget {
  /** Every run and host with a block of this resolution that starts at or before `cutoff`. */
  olderThan(res: Resolution, cutoff: number): RunHost[];
  /** First times of a host's oldest blocks of a resolution, ascending, at most `limit`. */
  starts(res: Resolution, rh: RunHost, limit: number): number[];
  /** The host's blocks of a resolution that start at or before `end`, decoded. */
  blocksThrough(res: Resolution, rh: RunHost, end: number): TargetBlock[];
  /** Of the host's raw blocks that start at or before `end`, the first start of one holding a reading numbered after `seq` (not yet taken by a sink), or null. */
  firstUnexported(rh: RunHost, end: number, seq: number): number | null;
  /** Times of the host's stage marks (not spans) in (from, to], ascending: where roll-up buckets split. */
  markTimes(rh: RunHost, from: number, to: number): number[];
  /** The name of a metric id of the stored blocks (how a roll-up holds it: kinds.ts). */
  metricName(id: number): string;
  /** Applies a step in one transaction. Raw readings dropped never free their sequence numbers. */
  apply(change: StepChange): void;
}
