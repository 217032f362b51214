import type { Sample, SamplerHealth } from '@stagewatch/shared';

export type Emit = (sample: Sample) => void;

/** A plug-in source of samples, in the manner of a Telegraf input. */
export interface Sampler {
  readonly name: string;
  start(emit: Emit): void;
  stop(): Promise<void>;
  health(now: number): SamplerHealth;
}

export interface SamplerContext {
  host: string;
  log: (msg: string) => void;
  /** Called when a sampler's state changes, so the change is printed at once, not at the next health tick. */
  onHealthChange?: (sampler: Sampler) => void;
}

/** Counts absent values per metric and reason, so "why is this metric missing" has an answer. */
export class AbsentCounter {
  private readonly counts: Record<string, Record<string, number>> = {};

  add(absent: Record<string, string>): void {
    for (const [metric, reason] of Object.entries(absent)) {
      const byReason = (this.counts[metric] ??= {});
      byReason[reason] = (byReason[reason] ?? 0) + 1;
    }
  }

  snapshot(): Record<string, Record<string, number>> {
    return structuredClone(this.counts);
  }
}
