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
  // For a p95: every (value, weight), in float32 (percentages to two decimals survive it) and
  // outside the JS heap, grown by doubling.
  private vals: Float32Array | null;
  private wts: Float32Array | null;
  private n = 0;

  /** keepValues: hold every (value, weight) for a p95. */
  constructor(keepValues = false) {
    this.vals = keepValues ? new Float32Array(16) : null;
    this.wts = keepValues ? new Float32Array(16) : null;
  }

  /** `hi`: the largest reading v stands for, where v is a roll-up's mean (store/retention/); else v. */
  add(v: number, w: number, hi = v): void {
    if (!(w > 0)) return;
    this.sum += v * w;
    this.w += w;
    if (hi > this.hi) this.hi = hi;
    if (this.vals && this.wts) {
      if (this.n === this.vals.length) {
        const [v2, w2] = [new Float32Array(this.n * 2), new Float32Array(this.n * 2)];
        v2.set(this.vals);
        w2.set(this.wts);
        [this.vals, this.wts] = [v2, w2];
      }
      this.vals[this.n] = v;
      this.wts[this.n++] = w;
    }
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
    // The float32 weights' own total, so rounding in them cannot push the target past the end.
    const wts = this.wts.subarray(0, this.n);
    const total = wts.reduce((a, b) => a + b, 0);
    const p95 = weightedQuantile(this.vals.subarray(0, this.n), wts, 0.95 * total);
    return { mean: round(this.sum / this.w), p95: round(p95), max: round(this.hi) };
  }
}

/**
 * The smallest value with at least `target` of the weight at or below it, by quickselect with a
 * three-way partition over the two arrays (reordered in place): O(n) on average, no comparator
 * calls. Written here because the quantile packages on npm are approximate sketches or
 * unweighted, and the report keeps p95 exact. With equal weights it is the nearest-rank p95.
 */
export function weightedQuantile(vals: Float32Array | Float64Array, wts: Float32Array | Float64Array, target: number): number {
  // The tolerance keeps float sums of equal weights from skipping a rank.
  const goal = target * (1 - 1e-12);
  let lo = 0;
  let hi = vals.length - 1;
  let below = 0;
  const swap = (i: number, j: number): void => {
    const v = vals[i] as number;
    vals[i] = vals[j] as number;
    vals[j] = v;
    const w = wts[i] as number;
    wts[i] = wts[j] as number;
    wts[j] = w;
  };
  while (lo < hi) {
    const pivot = vals[(lo + hi) >> 1] as number;
    // [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo;
    let gt = hi;
    let i = lo;
    let wLess = 0;
    let wEq = 0;
    while (i <= gt) {
      const v = vals[i] as number;
      if (v < pivot) {
        wLess += wts[i] as number;
        swap(i++, lt++);
      } else if (v > pivot) {
        swap(i, gt--);
      } else {
        wEq += wts[i++] as number;
      }
    }
    if (below + wLess >= goal) hi = lt - 1;
    else if (below + wLess + wEq >= goal) return pivot;
    else {
      below += wLess + wEq;
      lo = gt + 1;
    }
  }
  return vals[Math.min(lo, vals.length - 1)] as number;
}
