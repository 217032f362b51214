/**
 * Which stages a reading's interval overlaps, for readings arriving in (nearly) time order: a
 * sweep keeps the stages open around the latest time seen, so each lookup costs the few stages
 * open then rather than all of them. A reading from further back than the horizon (out of order,
 * or covering a long interval) takes the slow path over every stage; the answer is the same.
 */
export class StageSweep {
  private next = 0;
  private active: number[] = [];
  private maxT = -Infinity;
  private minEnd = Infinity;
  /** Filled by query: stages overlapping the interval, then stages holding its end. */
  readonly overlap: Int32Array;
  readonly at: Int32Array;
  overlapCount = 0;
  atCount = 0;

  /** starts sorted ascending; ends[i] >= starts[i]. */
  constructor(
    private readonly starts: readonly number[],
    private readonly ends: readonly number[],
    private readonly horizonMs: number,
  ) {
    this.overlap = new Int32Array(starts.length);
    this.at = new Int32Array(starts.length);
  }

  /**
   * Fills `overlap` with stages whose [start, end) overlaps [a, b) by more than zero, and `at`
   * with stages holding time b (start <= b < end); returns overlapCount.
   */
  query(a: number, b: number): number {
    let no = 0;
    let na = 0;
    if (b > this.maxT) {
      this.maxT = b;
      while (this.next < this.starts.length && (this.starts[this.next] as number) <= b) {
        this.minEnd = Math.min(this.minEnd, this.ends[this.next] as number);
        this.active.push(this.next++);
      }
      const keepAfter = b - this.horizonMs;
      // Filter only once the earliest open end has fallen behind the horizon: once in a while.
      if (this.minEnd <= keepAfter) {
        this.active = this.active.filter((i) => (this.ends[i] as number) > keepAfter);
        this.minEnd = this.active.reduce((m, i) => Math.min(m, this.ends[i] as number), Infinity);
      }
    }
    const fast = a >= this.maxT - this.horizonMs;
    const n = fast ? this.active.length : this.starts.length;
    for (let k = 0; k < n; k++) {
      const i = fast ? (this.active[k] as number) : k;
      const s = this.starts[i] as number;
      const e = this.ends[i] as number;
      if (s < b && e > a) this.overlap[no++] = i;
      if (s <= b && b < e) this.at[na++] = i;
    }
    this.atCount = na;
    return (this.overlapCount = no);
  }
}
