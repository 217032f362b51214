import type { Mark, Sample, SamplerHealth, WorkloadRuntime } from '@stagewatch/shared';
import type { CollectorClient } from './client.js';
import type { Spool } from './spool.js';

/**
 * Gathers samples into batches every `batchMs`; each batch is spooled to disk before it is
 * sent, so a batch exists until the collector acknowledges it. A batch goes out when a sample
 * arrives once `batchMs` has passed, so flushing rides on the samplers' own wakeups (each wakeup
 * of the idle agent costs CPU); the timer fires only when nothing arrived for two batch intervals.
 */
export class Streamer {
  private samples: Sample[] = [];
  private health: SamplerHealth[] = [];
  private marks: Mark[] = [];
  private runEnd: { t: number; exitCode: number | null; signal?: string } | null = null;
  private workload: WorkloadRuntime | null = null;
  private readonly timer: NodeJS.Timeout;
  private lastFlush = Date.now();
  /** Quarantined entries the last spool health line counted. */
  private quarantineSeen = 0;
  produced = 0;
  batches = 0;

  constructor(
    private readonly spool: Spool,
    private readonly client: Pick<CollectorClient, 'notify'>,
    private readonly runId: string | null,
    private readonly batchMs: number,
    private readonly maxSamplesPerBatch = 5000,
    private readonly tee?: (s: Sample) => void,
    /** Names the host on the spool's health line. */
    private readonly host = 'localhost',
  ) {
    // The samplers keep the process alive; this timer only paces batches.
    this.timer = setTimeout(() => this.flush(), 2 * batchMs).unref();
  }

  add(s: Sample): void {
    this.samples.push(s);
    this.produced++;
    this.tee?.(s);
    if (this.samples.length >= this.maxSamplesPerBatch || Date.now() - this.lastFlush >= this.batchMs) this.flush();
  }

  addHealth(h: SamplerHealth): void {
    this.health.push(h);
  }

  addMarks(marks: readonly Mark[]): void {
    this.marks.push(...marks);
  }

  /** What the workload's Python said about itself; goes out with the next batch. */
  setWorkload(w: WorkloadRuntime): void {
    this.workload = w;
  }

  /** The run's workload exited; goes out with the last batch. */
  endRun(t: number, exitCode: number | null, signal?: string): void {
    this.runEnd = { t: Math.round(t), exitCode, ...(signal ? { signal } : {}) };
  }

  flush(): void {
    this.lastFlush = Date.now();
    this.timer.refresh();
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
    // No clock here: the client adds the estimate it has when the batch is (re)sent. The loss is
    // read inside render, which the spool repeats when it had to drop batches for this one.
    this.spool.append(samples.length, (seq) =>
      JSON.stringify({ type: 'batch', seq, runId, samples, health, marks, loss: this.spool.loss, ...(runEnd ? { runEnd } : {}), ...(workload ? { workload } : {}) }),
    );
    this.batches++;
    this.client.notify();
  }

  stop(): void {
    this.flush();
    // After the flush: flush() re-arms the timer.
    clearTimeout(this.timer);
  }
}
