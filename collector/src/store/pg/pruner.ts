import { rollKind, type RollKind } from '../retention/kinds.js';
import { alignOf, levelsOf, markRange, stepChange, type Level, type RetentionPolicy } from '../retention/pruner.js';
import { stepEnd } from '../retention/rollup.js';
import type { RunHost, StepChange } from '../retention/target.js';
import type { PgRetention } from './retention.js';

/** A pass's hold on the database: the retention lock, and the connection the steps run on. */
export interface PgRetentionSession {
  target: PgRetention;
  /** Lets go of the lock and the connection. */
  close(): Promise<void>;
}

export interface PgPrunerOptions {
  stepBlocks?: number;
  intervalMs?: number;
  minGapMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
  onStep?: (change: StepChange, ms: number) => void;
  /** Told after each pass, its lock let go: whether this collector held it and pruned (false: another one had it). */
  onPass?: (held: boolean) => void;
}

/**
 * The Pruner (retention/pruner.ts) for PostgreSQL, where every read and write is a round trip:
 * the same levels, step bounds and step changes (the shared pure functions), awaited. Each pass
 * first takes the retention lock (`pg_try_advisory_lock`, PgEngine.retentionSession): of several
 * collectors on one database, one prunes; the others skip the pass and try again at the next.
 * Steps are one transaction of about `stepBlocks` blocks of one run and host, followed by a
 * pause as long as the step took, so the collector's own ingest runs between any two; other
 * collectors' ingest only waits for rows a step locks (none it inserts: ingest only adds blocks).
 */
export class PgPruner {
  private readonly levels: Level[];
  private readonly kinds = new Map<string, RollKind>();
  private readonly o: Required<Omit<PgPrunerOptions, 'onStep' | 'onPass'>> & Pick<PgPrunerOptions, 'onStep' | 'onPass'>;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: () => Promise<PgRetentionSession | null>,
    policy: RetentionPolicy,
    opts: PgPrunerOptions = {},
  ) {
    this.o = { stepBlocks: 64, intervalMs: 60_000, minGapMs: 1, now: Date.now, log: () => {}, ...opts };
    this.levels = levelsOf(policy);
  }

  start(): void {
    if (this.levels.length > 0) this.schedule(0);
  }

  /** Stops after the step under way (its transaction commits or rolls back whole); the lock is let go. */
  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass()
        .catch((e: Error) => this.o.log(`retention: ${e.message}`))
        .finally(() => this.schedule(this.o.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /** A pause on a timer that close() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  /** One pass, under the lock; runs the plan again while it changed something (1 s readings may then be old enough for 10 s). */
  private async pass(): Promise<void> {
    const s = await this.session();
    if (!s) return this.o.onPass?.(false);
    try {
      for (let changed = true; changed && !this.closed; ) {
        changed = false;
        const now = this.o.now();
        const queue: Array<{ level: Level; rh: RunHost }> = [];
        for (const level of this.levels) for (const rh of await s.target.olderThan(level.from, now - level.keepMs)) queue.push({ level, rh });
        for (const { level, rh } of queue) {
          for (let more = true; more && !this.closed; ) {
            const t0 = performance.now();
            try {
              more = await this.step(s.target, level, rh, t0);
            } catch (e) {
              // A block that cannot be read stays as it is; the pass goes on with the next host.
              if (!this.closed) this.o.log(`retention: run ${rh.rid} host ${rh.hid}: ${(e as Error).message}`);
              more = false;
            }
            changed ||= more;
            await this.pause(Math.max(this.o.minGapMs, performance.now() - t0));
          }
        }
      }
    } finally {
      await s.close();
    }
    this.o.onPass?.(true);
  }

  private async step(t: PgRetention, level: Level, rh: RunHost, t0: number): Promise<boolean> {
    const starts = await t.starts(level.from, rh, this.o.stepBlocks + 1);
    const end = stepEnd(starts, this.o.stepBlocks, this.o.now() - level.keepMs, alignOf(level));
    if (end === null) return false;
    const { blocks, nameOf } = await t.blocksThrough(level.from, rh, end);
    if (blocks.length === 0) return false;
    const cuts = level.to === null ? [] : await t.markTimes(rh, ...markRange(level, starts[0] as number, end));
    const change = stepChange(level, rh, blocks, end, cuts, (id) => this.kindOf(nameOf(id)));
    await t.apply(change);
    this.o.onStep?.(change, performance.now() - t0);
    return true;
  }

  private kindOf(name: string): RollKind {
    let k = this.kinds.get(name);
    if (k === undefined) this.kinds.set(name, (k = rollKind(name)));
    return k;
  }
}
