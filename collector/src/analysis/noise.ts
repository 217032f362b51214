import jStat from 'jstat';

/**
 * Is a change real or noise? Welch's t interval for the difference of two means (unequal
 * variances, Welch–Satterthwaite degrees of freedom); the t quantile comes from jstat.
 */
export interface Interval95 {
  /** mean(b) - mean(a) */
  diff: number;
  ci: [number, number];
  df: number;
}

export function sampleStats(xs: readonly number[]): { n: number; mean: number; variance: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

/** Welch interval for mean(b) - mean(a) at `confidence`; null with fewer than 2 values on a side. */
export function welchInterval(a: readonly number[], b: readonly number[], confidence: number): Interval95 | null {
  if (a.length < 2 || b.length < 2) return null;
  const sa = sampleStats(a);
  const sb = sampleStats(b);
  const va = sa.variance / sa.n;
  const vb = sb.variance / sb.n;
  const diff = sb.mean - sa.mean;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { diff, ci: [diff, diff], df: Infinity };
  const df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  const t = jStat.studentt.inv(1 - (1 - confidence) / 2, df);
  return { diff, ci: [diff - t * se, diff + t * se], df };
}

/** `not comparable`: the two sides were read on different clocks (compare-runs.ts). */
export type Verdict = 'faster' | 'slower' | 'higher' | 'lower' | 'within noise' | 'no estimate' | 'not comparable';

/**
 * A change whose whole interval lies above 0 is slower (a time) or higher (anything else); below
 * 0, faster or lower; an interval holding 0 is within noise.
 */
export function verdictOf(ci: readonly [number, number] | null, isTime: boolean): Verdict {
  if (ci === null) return 'no estimate';
  if (ci[0] > 0) return isTime ? 'slower' : 'higher';
  if (ci[1] < 0) return isTime ? 'faster' : 'lower';
  return 'within noise';
}
