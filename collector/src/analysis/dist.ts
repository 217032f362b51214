/** Mean, median and p95 of per-step values; percentiles are nearest-rank, as in stats.ts. */
export interface Dist {
  mean: number;
  p50: number;
  p95: number;
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

export function dist(values: readonly number[]): Dist | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { mean: r3(values.reduce((a, b) => a + b, 0) / values.length), p50: r3(nearestRank(sorted, 0.5)), p95: r3(nearestRank(sorted, 0.95)) };
}

export function meanOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export { r3 };
