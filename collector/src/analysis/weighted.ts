/**
 * Statistics of readings weighted by the time each covers inside a stage: a reading that covers a
 * second counts ten times one that covers 100 ms, and one straddling a stage's edge counts for
 * the part inside.
 */
import { round, type Summary } from './stats.js';

export class Weighted {
  private sum = 0;
  private w = 0;
  private hi = -Infinity;
  private readonly vals: number[] | null;
  private readonly wts: number[] | null;

  /** keepValues: hold every (value, weight) for a p95. */
  constructor(keepValues = false) {
    this.vals = keepValues ? [] : null;
    this.wts = keepValues ? [] : null;
  }

  add(v: number, w: number): void {
    if (!(w > 0)) return;
    this.sum += v * w;
    this.w += w;
    if (v > this.hi) this.hi = v;
    this.vals?.push(v);
    this.wts?.push(w);
  }

  /** Weight (ms) of the readings added. */
  get weight(): number {
    return this.w;
  }

  mean(): number | null {
    return this.w > 0 ? round(this.sum / this.w) : null;
  }

  max(): number | null {
    return this.w > 0 ? round(this.hi) : null;
  }

  /** Sum of value x weight: for power in W and weights in ms, millijoules. */
  integral(): number {
    return this.sum;
  }

  /** mean, weighted p95 (the smallest value with 95 % of the weight at or below it) and max. */
  summary(): Summary | null {
    if (this.w <= 0 || !this.vals || !this.wts) return null;
    const vals = this.vals;
    const wts = this.wts;
    const order = Array.from(vals.keys()).sort((a, b) => (vals[a] as number) - (vals[b] as number));
    // With equal weights this is the nearest-rank p95; the tolerance keeps float sums from skipping a rank.
    const target = 0.95 * this.w * (1 - 1e-12);
    let acc = 0;
    let p95 = this.hi;
    for (const i of order) {
      acc += wts[i] as number;
      if (acc >= target) {
        p95 = vals[i] as number;
        break;
      }
    }
    return { mean: round(this.sum / this.w), p95: round(p95), max: round(this.hi) };
  }
}
