import type { Sample, SamplerHealth } from '@stagewatch/shared';
import type { CollectorClient } from './client.js';
import type { Spool } from './spool.js';

/**
 * Gathers samples into batches every `batchMs`; each batch is spooled to disk before it is
 * sent, so a batch exists until the collector acknowledges it.
 */
export class Streamer {
  private samples: Sample[] = [];
  private health: SamplerHealth[] = [];
  private readonly timer: NodeJS.Timeout;
  produced = 0;
  batches = 0;

  constructor(
    private readonly spool: Spool,
    private readonly client: CollectorClient,
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

  flush(): void {
    if (this.samples.length === 0 && this.health.length === 0) return;
    const samples = this.samples;
    const health = this.health;
    this.samples = [];
    this.health = [];
    const loss = this.spool.loss;
    // No clock here: the client adds the estimate it has when the batch is (re)sent.
    this.spool.append(samples.length, (seq) => JSON.stringify({ type: 'batch', seq, samples, health, loss }));
    this.batches++;
    this.client.notify();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
