import type { Loss, Mark, Sample, SamplerHealth, WorkloadRuntime } from '@stagewatch/shared';
import type { BatchExporter } from '../transport/exporter.js';
import { TimerSet } from '../transport/timers.js';

/** What the batcher needs of the spool. */
export interface BatchSpool {
  readonly loss: Loss;
  append(samples: number, render: (seq: number) => string): number;
  health(host: string, now: number, appended: number): SamplerHealth;
}

export interface BatcherOptions {
  runId: string | null;
  batchMs: number;
  maxSamplesPerBatch?: number;
  /** Names the host on the spool's health line. */
  host?: string;
}

export interface RunEnd {
  t: number;
  exitCode: number | null;
  signal?: string;
}

/**
 * Gathers samples into batches every `batchMs`; each batch is spooled to disk before the exporter
 * hears of it, so a batch exists until the collector acknowledges it. A batch goes out when a
 * sample arrives once `batchMs` has passed, so flushing rides on the samplers' own wakeups (each
 * wakeup of the idle agent costs CPU). Its one timer starts only when something is waiting, and
 * fires when nothing brought a flush for two batch intervals.
 */
export class Batcher {
  private samples: Sample[] = [];
  private health: SamplerHealth[] = [];
  private marks: Mark[] = [];
  private runEnd: RunEnd | null = null;
  private workload: WorkloadRuntime | null = null;
  private readonly timers = new TimerSet();
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = Date.now();
  /** Quarantined entries the last spool health line counted. */
  private quarantineSeen = 0;
  private stopped = false;
  private readonly runId: string | null;
  private readonly batchMs: number;
  private readonly maxSamples: number;
  private readonly host: string;
  produced = 0;
  batches = 0;

  constructor(
    private readonly spool: BatchSpool,
    private readonly exporter: Pick<BatchExporter, 'export'>,
    opts: BatcherOptions,
  ) {
    if (!Number.isFinite(opts.batchMs) || opts.batchMs <= 0) throw new RangeError(`Batcher: batchMs must be a positive number (got ${opts.batchMs})`);
    const max = opts.maxSamplesPerBatch ?? 5000;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`Batcher: maxSamplesPerBatch must be a positive integer (got ${max})`);
    this.runId = opts.runId;
    this.batchMs = opts.batchMs;
    this.maxSamples = max;
    this.host = opts.host ?? 'localhost';
  }

  add(s: Sample): void {
    this.samples.push(s);
    this.produced++;
    if (this.samples.length >= this.maxSamples || Date.now() - this.lastFlush >= this.batchMs) this.flush();
    else this.arm();
  }

  addHealth(h: SamplerHealth): void {
    this.health.push(h);
    this.arm();
  }

  addMarks(marks: readonly Mark[]): void {
    if (marks.length === 0) return;
    this.marks.push(...marks);
    this.arm();
  }

  /** What the workload's Python said about itself; goes out with the next batch. */
  setWorkload(w: WorkloadRuntime): void {
    this.workload = w;
    this.arm();
  }

  /** The run's workload exited; goes out with the last batch. */
  endRun(end: RunEnd): void {
    this.runEnd = { t: Math.round(end.t), exitCode: end.exitCode, ...(end.signal ? { signal: end.signal } : {}) };
    this.arm();
  }

  flush(): void {
    this.lastFlush = Date.now();
    if (this.timer) this.timers.cancel(this.timer);
    this.timer = null;
    const loss = this.spool.loss;
    // A quarantine since the last batch is said on the spool's health line, in the next batch.
    const quarantined = loss.corrupt + loss.rejected;
    if (quarantined !== this.quarantineSeen) {
      this.quarantineSeen = quarantined;
      this.health.push(this.spool.health(this.host, Date.now(), this.batches));
    }
    if (this.samples.length === 0 && this.health.length === 0 && this.marks.length === 0 && !this.runEnd && !this.workload) return;
    const { samples, health, marks, runEnd, runId, workload } = this;
    this.samples = [];
    this.health = [];
    this.marks = [];
    this.runEnd = null;
    this.workload = null;
    // No clock here: the transport adds the estimate it has when the batch is (re)sent. The loss
    // is read inside render, which the spool repeats when it had to drop batches for this one.
    const seq = this.spool.append(samples.length, (s) =>
      JSON.stringify({ type: 'batch', seq: s, runId, samples, health, marks, loss: this.spool.loss, ...(runEnd ? { runEnd } : {}), ...(workload ? { workload } : {}) }),
    );
    this.batches++;
    this.exporter.export(seq);
  }

  /** Spools what is left; no timer is left running. Once: later calls do nothing. */
  shutdown(): void {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    this.timers.clear();
  }

  /** Something waits: make sure it goes out within two batch intervals of the last flush. */
  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.timers.timeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, this.lastFlush + 2 * this.batchMs - Date.now()));
  }
}
