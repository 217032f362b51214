/** Summary statistics over plain arrays; p95 is nearest-rank. */
export interface Summary {
  mean: number;
  p95: number;
  max: number;
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

export function summarize(values: readonly number[]): Summary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  const rank = Math.max(0, Math.ceil(0.95 * sorted.length) - 1);
  return { mean: round(sum / values.length), p95: round(sorted[rank] as number), max: round(sorted[sorted.length - 1] as number) };
}

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length);
}

export function max(values: readonly number[]): number | null {
  return values.length === 0 ? null : round(values.reduce((a, b) => (b > a ? b : a), -Infinity));
}

/** Energy in joules from (t ms, watts) points by the trapezoid rule; gaps over maxGapMs are not bridged. */
export function energyJoules(points: ReadonlyArray<readonly [number, number]>, maxGapMs = 5000): number | null {
  if (points.length < 2) return null;
  let j = 0;
  for (let i = 1; i < points.length; i++) {
    const [t0, p0] = points[i - 1] as readonly [number, number];
    const [t1, p1] = points[i] as readonly [number, number];
    const dt = t1 - t0;
    if (dt > 0 && dt <= maxGapMs) j += ((p0 + p1) / 2) * (dt / 1000);
  }
  return round(j, 1);
}

export { round };
