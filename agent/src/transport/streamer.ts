import type { Mark, Sample, SamplerHealth, WorkloadRuntime } from '@stagewatch/shared';
import type { CollectorClient } from './client.js';
import type { Spool } from './spool.js';

/**
 * Gathers samples into batches every `batchMs`; each batch is spooled to disk before it is
 * sent, so a batch exists until the collector acknowledges it.
 */
export class Streamer {
  private samples: Sample[] = [];
  private health: SamplerHealth[] = [];
  private marks: Mark[] = [];
  private runEnd: { t: number; exitCode: number | null; signal?: string } | null = null;
  private workload: WorkloadRuntime | null = null;
  private readonly timer: NodeJS.Timeout;
  produced = 0;
  batches = 0;

  constructor(
    private readonly spool: Spool,
    private readonly client: CollectorClient,
    private readonly runId: string | null,
    batchMs: number,
    private readonly maxSamplesPerBatch = 5000,
    private readonly tee?: (s: Sample) => void,
  ) {
    this.timer = setInterval(() => this.flush(), batchMs);
  }

  add(s: Sample): void {
    this.samples.push(s);
    this.produced++;
    this.tee?.(s);
    if (this.samples.length >= this.maxSamplesPerBatch) this.flush();
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
    if (this.samples.length === 0 && this.health.length === 0 && this.marks.length === 0 && !this.runEnd && !this.workload) return;
    const { samples, health, marks, runEnd, runId, workload } = this;
    this.samples = [];
    this.health = [];
    this.marks = [];
    this.runEnd = null;
    this.workload = null;
    const loss = this.spool.loss;
    // No clock here: the client adds the estimate it has when the batch is (re)sent.
    this.spool.append(samples.length, (seq) =>
      JSON.stringify({ type: 'batch', seq, runId, samples, health, marks, loss, ...(runEnd ? { runEnd } : {}), ...(workload ? { workload } : {}) }),
    );
    this.batches++;
    this.client.notify();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
