/**
 * How many ticks apart a reading is taken so that it stays within a CPU budget. Some NVML calls
 * cost milliseconds (nvmlGpmMetricsGet ~1.6 ms on the H100 measured, docs/gpu-run-h100/
 * nvml-calls.json) while the whole agent should stay near 1 % of a core at 10 Hz, so the window
 * of such a reading widens until its cost fits. Cost is the call's wall time, which on these
 * synchronous driver calls tracks its CPU time (same file: cpuUs ≈ wallUs).
 */
export function everyTicks(costMs: number | null, tickMs: number, budgetShare: number, minWindowMs: number, maxWindowMs: number): number {
  const min = Math.max(1, Math.ceil(minWindowMs / tickMs - 1e-9));
  const max = Math.max(min, Math.floor(maxWindowMs / tickMs + 1e-9));
  const want = costMs === null || budgetShare <= 0 ? min : Math.ceil(costMs / (budgetShare * tickMs) - 1e-9);
  return Math.min(max, Math.max(min, want));
}

/** A reading's pace: due every `every()` ticks, from a moving average of what its calls cost. */
export class CostPacer {
  private avgMs: number | null;
  private since = Infinity;
  /** The first call pays for loading and JIT-compiling its path: it does not count (without a seed). */
  private warmedUp: boolean;

  constructor(
    private readonly tickMs: number,
    private readonly budgetShare: number,
    private readonly minWindowMs: number,
    private readonly maxWindowMs: number,
    /** A cost known before the first call (a calibration), if any. */
    seedMs: number | null = null,
  ) {
    this.avgMs = seedMs;
    this.warmedUp = seedMs !== null;
  }

  /** A window starts now: the next reading is due `every()` ticks from here. */
  begin(): void {
    this.since = 0;
  }

  /** Call once a tick: true when the reading is due this tick (the first tick always is, unless begun). */
  tick(): boolean {
    this.since++;
    if (this.since < this.every()) return false;
    this.since = 0;
    return true;
  }

  /** The reading could not be taken this tick after all: due again on the next one. */
  again(): void {
    this.since = Infinity;
  }

  every(): number {
    return everyTicks(this.avgMs, this.tickMs, this.budgetShare, this.minWindowMs, this.maxWindowMs);
  }

  /** What one call just cost, in ms. */
  record(ms: number): void {
    if (!this.warmedUp) {
      this.warmedUp = true;
      return;
    }
    this.avgMs = this.avgMs === null ? ms : 0.8 * this.avgMs + 0.2 * ms;
  }

  cost(): number | null {
    return this.avgMs;
  }
}
