import type { CollectorTelemetry } from './telemetry.js';
import type { PendingBatch, SqliteStore } from './store/sqlite.js';

/** `closing`: the collector is shutting down and took no more; the agent sends it again later. */
export type IngestOutcome = { ok: true; duplicate: boolean } | { ok: false; error: string; closing?: true };

interface Queued {
  item: PendingBatch;
  receivedAt: number;
  done: (o: IngestOutcome) => void;
}

/**
 * Group commit: batches from every connection wait a few milliseconds and are written in one
 * transaction, which is what lets one SQLite writer keep up with hundreds of agents. Each batch
 * is acknowledged only after its transaction committed.
 */
export class Ingestor {
  private queue: Queued[] = [];
  private queuedSamples = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /** Called after each commit with what it stored (sinks wake up on it). */
  readonly onCommit: Array<(stored: readonly PendingBatch[]) => void> = [];

  constructor(
    private readonly store: SqliteStore,
    private readonly telemetry: CollectorTelemetry,
    private readonly log: (msg: string) => void,
    private readonly opts = { maxDelayMs: 10, maxSamples: 20_000 },
  ) {}

  submit(item: PendingBatch, done: (o: IngestOutcome) => void): void {
    if (this.closed) return done({ ok: false, error: 'collector shutting down', closing: true });
    this.queue.push({ item, receivedAt: Date.now(), done });
    this.queuedSamples += item.batch.samples.length;
    if (this.queuedSamples >= this.opts.maxSamples) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), 0);
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs);
    }
  }

  /** Commits what is queued and takes nothing more. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  get pending(): number {
    return this.queue.length;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const work = this.queue;
    this.queue = [];
    this.queuedSamples = 0;
    if (work.length === 0) return;
    const now = Date.now();
    try {
      const res = this.store.writeBatches(work.map((w) => w.item), now);
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
