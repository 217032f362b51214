import type { CollectorTelemetry } from './telemetry.js';
import type { StoreEngine } from './store/engine.js';
import type { PendingBatch } from './store/rows.js';

/** `closing`: the collector is shutting down and took no more; the agent sends it again later. */
export type IngestOutcome = { ok: true; duplicate: boolean } | { ok: false; error: string; closing?: true };

interface Queued {
  item: PendingBatch;
  receivedAt: number;
  done: (o: IngestOutcome) => void;
}

/**
 * Group commit: batches from every connection wait a few milliseconds and are written together,
 * which is what lets one SQLite writer keep up with hundreds of agents. Each batch is
 * acknowledged only after its transaction committed. One transaction takes about `commitSamples`
 * samples (a batch is never split); what is left waits for the next turn of the event loop, so
 * one agent that floods cannot hold /healthz and the other connections for a long commit.
 */
export class Ingestor {
  private queue: Queued[] = [];
  private queuedSamples = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private closed = false;
  /**
   * Commits under way, at most the engine's `parallelCommits` (SQLite: 1, its writes are
   * synchronous; PostgreSQL: a few, each on its own connection, so a commit's round trips do not
   * hold back the next group). What arrives meanwhile joins the next group.
   */
  private readonly inFlight = new Set<Promise<void>>();

  /** Called after each commit with what it stored (sinks wake up on it). */
  readonly onCommit: Array<(stored: readonly PendingBatch[]) => void> = [];

  constructor(
    private readonly store: StoreEngine,
    private readonly telemetry: CollectorTelemetry,
    private readonly log: (msg: string) => void,
    private readonly opts = { maxDelayMs: 10, maxSamples: 20_000, commitSamples: 5_000 },
  ) {}

  submit(item: PendingBatch, done: (o: IngestOutcome) => void): void {
    if (this.closed) return done({ ok: false, error: 'collector shutting down', closing: true });
    this.queue.push({ item, receivedAt: Date.now(), done });
    this.queuedSamples += item.samples;
    if (this.queuedSamples >= this.opts.maxSamples) {
      this.cancel();
      this.timer = setImmediate(() => this.flush());
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs);
    }
  }

  /** Commits everything queued, now, and takes nothing more. */
  async close(): Promise<void> {
    this.cancel();
    this.closed = true;
    await Promise.all(this.inFlight);
    while (this.queue.length > 0) await this.commitSome();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Starts one transaction's worth; the rest goes on at the next turn. */
  flush(): void {
    this.cancel();
    // With as many commits under way as the engine takes, the next to end flushes again.
    if (this.inFlight.size >= this.store.parallelCommits || this.queue.length === 0) return;
    const commit: Promise<void> = this.commitSome().finally(() => {
      this.inFlight.delete(commit);
      if (this.queue.length > 0 && !this.closed) this.timer ??= setImmediate(() => this.flush());
    });
    this.inFlight.add(commit);
    if (this.queue.length > 0) this.timer = setImmediate(() => this.flush());
  }

  private cancel(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = null;
  }

  private async commitSome(): Promise<void> {
    let n = 0;
    let samples = 0;
    while (n < this.queue.length && (n === 0 || samples + (this.queue[n] as Queued).item.samples <= this.opts.commitSamples)) {
      samples += (this.queue[n] as Queued).item.samples;
      n++;
    }
    const work = this.queue.splice(0, n);
    this.queuedSamples -= samples;
    if (work.length === 0) return;
    const now = Date.now();
    try {
      const res = await this.store.writeBatches(work.map((w) => w.item), now);
      const dupCount = res.duplicate.filter(Boolean).length;
      this.telemetry.samples.inc(res.samples);
      this.telemetry.batches.inc(work.length - dupCount);
      this.telemetry.duplicates.inc(dupCount);
      const committed = Date.now();
      work.forEach((w, i) => {
        this.telemetry.ingestSeconds.observe((committed - w.receivedAt) / 1000);
        w.done({ ok: true, duplicate: res.duplicate[i] === true });
      });
      const stored = work.filter((_, i) => res.duplicate[i] !== true).map((w) => w.item);
      for (const f of this.onCommit) f(stored);
    } catch (e) {
      this.telemetry.storeErrors.inc();
      const error = `store write failed: ${(e as Error).message}`;
      this.log(error);
      for (const w of work) w.done({ ok: false, error });
    }
  }
}
