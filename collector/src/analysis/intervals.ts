/**
 * Interval arithmetic on [start, end) pairs in ms: unions, their lengths and intersections.
 * Small and written here: the npm interval libraries are trees for stabbing queries, not the
 * union/intersection lengths a per-step breakdown needs.
 */
export type Interval = readonly [number, number];

/** Disjoint, sorted intervals covering exactly what the inputs cover (empty ones dropped). */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

export function length(disjoint: readonly Interval[]): number {
  return disjoint.reduce((a, [s, e]) => a + (e - s), 0);
}

/** Length of the intersection of two unions (each disjoint and sorted, as union() returns). */
export function overlapLength(a: readonly Interval[], b: readonly Interval[]): number {
  let i = 0;
  let j = 0;
  let total = 0;
  while (i < a.length && j < b.length) {
    const [as, ae] = a[i] as Interval;
    const [bs, be] = b[j] as Interval;
    const lo = Math.max(as, bs);
    const hi = Math.min(ae, be);
    if (hi > lo) total += hi - lo;
    if (ae < be) i++;
    else j++;
  }
  return total;
}
