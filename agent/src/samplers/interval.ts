import { errorMessage, type SamplerHealth } from '@stagewatch/shared';
import { AbsentCounter, healthRecord, type Emit, type Sampler, type SamplerContext } from './types.js';

/**
 * A sampler that reads something every interval in-process (/proc, NVML): the timer, error
 * counting (each new error said once), and health, shared by the host, workload and NVML samplers.
 */
export abstract class IntervalSampler implements Sampler {
  abstract readonly name: string;
  protected readonly absent = new AbsentCounter();
  protected samples = 0;
  protected errors = 0;
  protected lastError: string | undefined;
  private unschedule: (() => void) | null = null;

  constructor(
    protected readonly ctx: SamplerContext,
    protected readonly intervalMs: number,
  ) {}

  /** Reads once and emits what it read; throwing counts as a failed read. */
  protected abstract sampleOnce(emit: Emit): void;

  /** True once what is sampled is gone for good (the workload exited). */
  protected down(): boolean {
    return false;
  }

  /** Releases what the sampler holds open. */
  protected release(): void {}

  start(emit: Emit): void {
    const tick = (): void => {
      if (this.down()) return;
      try {
        this.sampleOnce(emit);
        if (!this.down()) this.lastError = undefined;
      } catch (e) {
        this.errors++;
        if (this.lastError !== errorMessage(e)) this.ctx.log(`${this.name}: ${errorMessage(e)}`);
        this.lastError = errorMessage(e);
      }
    };
    tick();
    const ticker = this.ctx.ticker;
    if (ticker && ticker.intervalMs === this.intervalMs) {
      this.unschedule = ticker.add(tick);
    } else {
      const timer = setInterval(tick, this.intervalMs);
      this.unschedule = () => clearInterval(timer);
    }
  }

  async stop(): Promise<void> {
    this.unschedule?.();
    this.unschedule = null;
    this.release();
  }

  health(now: number): SamplerHealth {
    const state = this.unschedule === null ? 'stopped' : this.down() ? 'down' : this.lastError ? 'degraded' : 'ok';
    return healthRecord(this.name, this.ctx.host, now, { state, error: this.lastError, restarts: 0, lines: this.samples, badLines: this.errors, absent: this.absent });
  }
}
