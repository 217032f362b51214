/**
 * Intervals holding no other interval: the stages a timeline and chart bands show, since an outer
 * stage (a whole request) would hide the ones inside it. Used by the HTML report and the web UI.
 */
export function leafIntervals<T>(items: readonly T[], start: (t: T) => number, end: (t: T) => number): T[] {
  return items.filter((s) => !items.some((o) => o !== s && start(o) >= start(s) && end(o) <= end(s) && (start(o) > start(s) || end(o) < end(s))));
}
