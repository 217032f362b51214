import type { SamplerHealth } from '@stagewatch/shared';
import { closeDcgm, dcgmError, latest, pauseProfiling, resumeProfiling, valuesToMetrics, type DcgmSession } from '../dcgm/session.js';
import { DCGM_ST_OK } from '../dcgm/bindings.js';
import { IntervalSampler } from './interval.js';
import type { Emit, SamplerContext } from './types.js';

export const PAUSED = 'paused on request (SIGUSR2): DCGM profiling released, Nsight can profile';

/**
 * SM activity and the other profiling metrics through DCGM, for GPUs without GPM (Ampere, Ada).
 * DCGM samples them itself every watch interval; each tick reads the latest values and emits a
 * GPU's reading once, stamped with DCGM's own time and covering the watch interval before it.
 *
 * Before Hopper, DCGM's profiling holds the GPU's performance counters for the whole system:
 * Nsight Compute and Nsight Systems' GPU metrics cannot run meanwhile. `pause()` gives them back
 * (dcgmProfPause where DCGM has it, else the watch is dropped) and `resume()` takes them again.
 */
export class DcgmSampler extends IntervalSampler {
  readonly name = 'gpu.dcgm';
  private readonly lastTs = new Map<number, number>();
  private paused = false;

  constructor(
    ctx: SamplerContext,
    private readonly session: DcgmSession,
    intervalMs: number,
  ) {
    super(ctx, intervalMs);
  }

  get mode(): DcgmSession['mode'] {
    return this.session.mode;
  }

  get gpuIds(): readonly number[] {
    return this.session.gpuIds;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Gives the profiling counters back (for Nsight); returns what it did. */
  pause(): string {
    if (this.paused) return 'DCGM profiling already paused';
    const { rc, how } = pauseProfiling(this.session);
    if (rc !== DCGM_ST_OK) return `DCGM profiling not paused: ${dcgmError(this.session, rc)}`;
    this.paused = true;
    this.ctx.onHealthChange?.(this);
    return `DCGM profiling paused (${how}): Nsight can profile now; SIGUSR2 again resumes`;
  }

  resume(): string {
    if (!this.paused) return 'DCGM profiling not paused';
    const rc = resumeProfiling(this.session);
    if (rc !== DCGM_ST_OK) return `DCGM profiling not resumed: ${dcgmError(this.session, rc)}`;
    this.paused = false;
    this.ctx.onHealthChange?.(this);
    return 'DCGM profiling resumed';
  }

  protected sampleOnce(emit: Emit): void {
    if (this.paused) return;
    const { rc, byGpu } = latest(this.session);
    if (rc !== DCGM_ST_OK) throw new Error(`dcgmGetLatestValues_v2: ${dcgmError(this.session, rc)}`);
    for (const [gpu, values] of byGpu) {
      const { t, m, absent } = valuesToMetrics(values, (rc) => dcgmError(this.session, rc));
      this.absent.add(absent);
      // DCGM updates every watch interval; a faster agent sees the same reading again.
      if (t === null || t <= (this.lastTs.get(gpu) ?? 0) || Object.keys(m).length === 0) continue;
      this.lastTs.set(gpu, t);
      emit({ t: Math.round(t), dur_ms: this.session.watchMs, host: this.ctx.host, source: 'gpu', gpu, m });
    }
    this.samples++;
  }

  /** While paused, health says so (and why nothing comes). */
  override health(now: number): SamplerHealth {
    const h = super.health(now);
    return this.paused && h.state !== 'stopped' ? { ...h, state: 'degraded', error: PAUSED } : h;
  }

  protected override release(): void {
    closeDcgm(this.session);
  }
}
