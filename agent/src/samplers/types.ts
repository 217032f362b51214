import type { Sample, SamplerHealth, SamplerState } from '@stagewatch/shared';
import type { Ticker } from './ticker.js';

/** Every sample the agent emits says what it covers: `dur_ms` is required here, optional on the wire (older agents). */
export type TimedSample = Sample & { dur_ms: number };
export type Emit = (sample: TimedSample) => void;

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
  /** The shared timer; interval samplers on its interval tick with it instead of their own timer. */
  ticker?: Ticker;
}

/** One process's hold on a GPU, as the GPU backend lists it (NVML running compute processes). */
export interface GpuHolder {
  gpu: number;
  memMib: number | null;
}

/** A per-process SM utilization reading from the GPU backend; it covers [t - durMs, t]. */
export interface GpuProcessUtil {
  pid: number;
  gpu: number;
  t: number;
  durMs: number;
  smPct: number;
}

/**
 * What the GPU backend knows about processes (NVML running processes and per-process utilization),
 * for the workload sampler to map its processes to GPUs. Pids are the ones NVML sees: inside a
 * container with its own pid namespace they do not match /proc, and nothing is mapped.
 */
export interface GpuProcessSource {
  /** pid -> the GPUs it holds memory on, as last read (the source reads at its own pace). */
  holders(now: number): ReadonlyMap<number, readonly GpuHolder[]>;
  /** Utilization readings newer than the previous call. */
  utilization(now: number): readonly GpuProcessUtil[];
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

/** A health line from a sampler's counters; `error` only while there is one. */
export function healthRecord(
  sampler: string,
  host: string,
  now: number,
  c: { state: SamplerState; error: string | undefined; restarts: number; lines: number; badLines: number; absent: AbsentCounter },
): SamplerHealth {
  return {
    t: now,
    host,
    source: 'health',
    sampler,
    state: c.state,
    ...(c.error ? { error: c.error } : {}),
    restarts: c.restarts,
    lines: c.lines,
    badLines: c.badLines,
    absent: c.absent.snapshot(),
  };
}
