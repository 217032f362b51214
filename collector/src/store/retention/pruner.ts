import { rollKind, type RollKind } from './kinds.js';
import { countThrough, rollUp, stepEnd } from './rollup.js';
import type { Remainder, Resolution, RetentionTarget, RunHost, StepChange, TargetBlock } from './target.js';

/** How long each resolution is kept, ms; 0 keeps it for good. */
export interface RetentionPolicy {
  rawMs: number;
  oneSecondMs: number;
  tenSecondMs: number;
}

export interface PrunerOptions {
  /** Blocks a step takes (about; a step takes at least one bucket's span): one transaction's worth. */
  stepBlocks?: number;
  /** Between passes over the store. */
  intervalMs?: number;
  /** Least pause between steps, ms; a step is also followed by a pause as long as it took. */
  minGapMs?: number;
  /** Readings numbered through here were taken by every sink configured now (none: no limit). */
  exportedThrough?: () => number;
  now?: () => number;
  log?: (msg: string) => void;
  /** Told after each step that changed the store, with the ms it took (tests, telemetry, the bench). */
  onStep?: (change: StepChange, ms: number) => void;
  /** Told when a pass finds nothing more to do (until the next, intervalMs on). */
  onIdle?: () => void;
}

export interface Level {
  from: Resolution;
  to: Resolution | null;
  keepMs: number;
}

/**
 * A step ends on a multiple of the bucket it makes (1 s from raw, 10 s from 1 s), so no bucket
 * straddles two steps; deleting 10 s readings ends on 10 s too.
 */
export const alignOf = (level: Level): number => level.to ?? 10_000;

/** The policy's levels that prune anything (a resolution kept for good has none). */
export function levelsOf(policy: RetentionPolicy): Level[] {
  const all: Level[] = [
    { from: 0, to: 1000, keepMs: policy.rawMs },
    { from: 1000, to: 10000, keepMs: policy.oneSecondMs },
    { from: 10000, to: null, keepMs: policy.tenSecondMs },
  ];
  return all.filter((l) => l.keepMs > 0);
}

/** Where the marks that split a step's buckets are looked for: from the aligned span before its first block, to its end. */
export function markRange(level: Level, firstStart: number, end: number): [from: number, to: number] {
  const align = alignOf(level);
  return [Math.floor(firstStart / align) * align - align, end];
}

/**
 * A step's change (pure): the blocks read through `end` dropped, their readings after it kept
 * as they are, those through it rolled up into the next resolution (split at `cuts`), or, from
 * the coarsest, deleted for good. Both pruners (this one, and PostgreSQL's pg/pruner.ts) take it.
 */
export function stepChange(level: Level, rh: RunHost, blocks: readonly TargetBlock[], end: number, cuts: readonly number[], kindOf: (id: number) => RollKind): StepChange {
  const through = new Map(blocks.map((b) => [b, countThrough(b.t, b.n, end)]));
  const keep: Remainder[] = blocks.filter((b) => (through.get(b) as number) < b.n).map((block) => ({ block, from: through.get(block) as number }));
  const add = level.to === null ? [] : rollUp(blocks, level.to, (b) => through.get(b as TargetBlock) as number, [...cuts], kindOf);
  return { ...rh, res: level.from, drop: blocks, keep, add, to: level.to };
}

/**
 * Rolls raw readings older than the policy's raw time into 1 s readings, those older than its
 * 1 s time into 10 s, and deletes 10 s readings older than its 10 s time, in small steps: one
 * transaction of about `stepBlocks` blocks of one run and host, then a pause on a timer as long
 * as the step took (at least minGapMs), so ingest's group commits (ingest.ts, a timer of their
 * own) run between any two steps and pruning never takes more than about half the event loop.
 * Marks, runs and the batches table (exactly-once) are never touched. Raw readings a sink has
 * not yet taken are kept until it has (exportedThrough).
 */
export class Pruner {
  private readonly levels: Level[];
  private readonly kinds = new Map<number, RollKind>();
  private readonly kindOf = (id: number): RollKind => {
    let k = this.kinds.get(id);
    if (k === undefined) this.kinds.set(id, (k = rollKind(this.target.metricName(id))));
    return k;
  };
  private queue: Array<{ level: Level; rh: RunHost }> = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Whether the pass changed the store (true before the first: plan then). */
  private changed = true;
  private readonly o: Required<Omit<PrunerOptions, 'exportedThrough' | 'onStep' | 'onIdle'>> & Pick<PrunerOptions, 'exportedThrough' | 'onStep' | 'onIdle'>;

  constructor(
    private readonly target: RetentionTarget,
    policy: RetentionPolicy,
    opts: PrunerOptions = {},
  ) {
    this.o = { stepBlocks: 64, intervalMs: 60_000, minGapMs: 1, now: Date.now, log: () => {}, ...opts };
    this.levels = levelsOf(policy);
  }

  /** Starts the first pass on the next timer turn; later passes every intervalMs. */
  start(): void {
    if (this.levels.length > 0) this.schedule(0);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Whether a pass is under way (steps left). */
  get busy(): boolean {
    return this.queue.length > 0;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.turn(), ms);
    this.timer.unref();
  }

  private turn(): void {
    this.timer = null;
    if (this.queue.length === 0) {
      // A pass that changed something plans again at once: its 1 s readings may be old enough for 10 s.
      if (this.changed) this.plan();
      this.changed = false;
    }
    if (this.queue.length === 0) {
      this.changed = true;
      this.o.onIdle?.();
      return this.schedule(this.o.intervalMs);
    }
    const t0 = performance.now();
    const head = this.queue[0] as { level: Level; rh: RunHost };
    let more = false;
    try {
      more = this.step(head.level, head.rh, t0);
    } catch (e) {
      // A block that cannot be read stays as it is; the pass goes on with the next host.
      this.o.log(`retention: run ${head.rh.rid} host ${head.rh.hid}: ${(e as Error).message}`);
    }
    if (more) this.changed = true;
    else this.queue.shift();
    this.schedule(Math.max(this.o.minGapMs, performance.now() - t0));
  }

  /** Every run and host with something older than its level keeps. */
  private plan(): void {
    const now = this.o.now();
    for (const level of this.levels) {
      for (const rh of this.target.olderThan(level.from, now - level.keepMs)) this.queue.push({ level, rh: { rid: rh.rid, hid: rh.hid } });
    }
  }

  /** One step of one run and host; whether it changed anything (more may be left). */
  private step(level: Level, rh: RunHost, t0: number): boolean {
    const align = alignOf(level);
    const starts = this.target.starts(level.from, rh, this.o.stepBlocks + 1);
    let end = stepEnd(starts, this.o.stepBlocks, this.o.now() - level.keepMs, align);
    if (end === null) return false;
    if (level.from === 0 && this.o.exportedThrough) {
      // A block a sink has not taken all of waits, and so does everything from its start on.
      const held = this.target.firstUnexported(rh, end, this.o.exportedThrough());
      if (held !== null) end = Math.floor((held - 1) / align) * align;
      if (end < (starts[0] as number)) return false;
    }
    const blocks = this.target.blocksThrough(level.from, rh, end);
    if (blocks.length === 0) return false;
    // Buckets split at stage marks (the step's readings start in the aligned span of its first block).
    const cuts = level.to === null ? [] : this.target.markTimes(rh, ...markRange(level, starts[0] as number, end));
    const change = stepChange(level, rh, blocks, end, cuts, this.kindOf);
    this.target.apply(change);
    this.o.onStep?.(change, performance.now() - t0);
    return true;
  }
}
