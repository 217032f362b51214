import type { SampleSource } from '@stagewatch/shared';
import type { StoredBlock } from '../blocks.js';
import { orBits, type RollKind } from './kinds.js';

/**
 * Roll-ups: the readings of a (run, host, source, lane) and metric set over a bucket of `res` ms
 * become one reading. Pure functions over decoded blocks; the pruner (pruner.ts) does the I/O.
 *
 * A bucket is (e - res, e] for e a multiple of res: a reading is stamped at the end of the
 * interval it covers ([t - dur_ms, t]), so ten 100 ms readings at e - 900 .. e fill one bucket
 * exactly. The roll-up reading keeps each metric's key and holds its mean weighted by each
 * reading's covered interval (readings without dur_ms, from older agents, weigh alike), or for
 * states, settings and bitmasks their last reading or their bits (kinds.ts); the
 * min and max ride beside it in the block (blocks.ts, HAS_EXTREMES), so a metric name never
 * holds anything but that metric's mean. It is stamped at its last reading and covers back to
 * the earliest start of its readings' intervals: a bucket the readings only partly fill says so
 * in its dur_ms rather than claiming the whole bucket, and readings that cover more than a
 * bucket (1 Hz readings of 1 s) make a roll-up that covers as much.
 */

/** A decoded block with what the roll-up needs of its row. */
export interface RollInput extends StoredBlock {
  source: SampleSource;
  n: number;
}

/** A roll-up block, ready to be written (blocks.ts rollupBlob). Readings in (time, lane) order. */
export interface RollOutput {
  source: SampleSource;
  hasPid: boolean;
  ids: number[];
  n: number;
  lane: Float64Array | null;
  t: Float64Array;
  dur: Float64Array;
  values: Float64Array[];
  extremes: { min: Float64Array[]; max: Float64Array[] };
}

/**
 * Means are rounded to 3 decimals: the column codec stores a decimal in a byte or two where a
 * full-precision mean (97.333...) takes eight. 0.0005 at most, far under any reading's own precision.
 */
const MEAN_DECIMALS = 1000;

/** Longest interval a stored reading may cover (shared/src/sample-blocks.ts MAX_DUR_MS). */
const MAX_DUR_MS = 3_600_000;

interface Acc {
  lane: number;
  end: number;
  start: number;
  tLast: number;
  w: number;
  sum: Float64Array;
  /** Each metric's reading at tLast ('last'), or the or of its readings ('or'). */
  last: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** The number of a block's samples at or before hi (a block's samples are in time order). */
export function countThrough(t: Float64Array, n: number, hi: number): number {
  let lo = 0;
  let up = n;
  while (lo < up) {
    const mid = (lo + up) >> 1;
    if ((t[mid] as number) <= hi) lo = mid + 1;
    else up = mid;
  }
  return lo;
}

/** The last of `cuts` (ascending) before t, or -Infinity. */
function lastBefore(cuts: ArrayLike<number>, t: number): number {
  let lo = 0;
  let up = cuts.length;
  while (lo < up) {
    const mid = (lo + up) >> 1;
    if ((cuts[mid] as number) < t) lo = mid + 1;
    else up = mid;
  }
  return lo === 0 ? -Infinity : (cuts[lo - 1] as number);
}

/** The end of the bucket of res ms that a reading stamped at t falls in. */
export const bucketEnd = (t: number, res: number): number => Math.ceil(t / res) * res;

/**
 * Rolls the first `take(b)` readings of each block up into buckets of res ms: one output block
 * per source, pid-or-not and metric set, readings of every lane in (time, lane) order.
 * `cuts`: times (ascending) where a bucket is split in two: the run's stage marks. A stage's mean
 * then takes none of its neighbour's readings, where a whole bucket would smear the 100 % of a
 * compute stage into the idle one before it (on the H100 phases capture, 3 to 4 points of
 * util_pct in 10 s stages).
 */
export function rollUp(
  blocks: readonly RollInput[],
  res: number,
  take: (b: RollInput) => number = (b) => b.n,
  cuts: ArrayLike<number> = [],
  kindOf: (id: number) => RollKind = () => 'mean',
): RollOutput[] {
  const groups = new Map<string, { head: RollInput; kinds: RollKind[]; accs: Map<string, Acc> }>();
  for (const b of blocks) {
    const k = take(b);
    if (k === 0) continue;
    const key = `${b.source}|${b.hasPid ? 1 : 0}|${b.ids.join(',')}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { head: b, kinds: b.ids.map(kindOf), accs: new Map() }));
    const kinds = g.kinds;
    const m = b.ids.length;
    for (let i = 0; i < k; i++) {
      const t = b.t[i] as number;
      const lane = b.lane ? (b.lane[i] as number) : 0;
      const end = bucketEnd(t, res);
      // The bucket's part this reading is in: after the last cut before it, if that is in the bucket.
      const cut = lastBefore(cuts, t);
      const from = cut > end - res ? cut : end - res;
      const at = `${lane}|${end}|${from}`;
      let a = g.accs.get(at);
      if (!a) {
        a = { lane, end, start: end, tLast: -Infinity, w: 0, sum: new Float64Array(m), last: new Float64Array(m), min: new Float64Array(m).fill(Infinity), max: new Float64Array(m).fill(-Infinity) };
        g.accs.set(at, a);
      }
      const dur = b.dur ? (b.dur[i] as number) : null;
      // A reading without dur_ms says nothing of its interval: the bucket's (part's) start bounds it.
      // One with dur_ms keeps all it covered, before the bucket too (a 1 Hz power reading covers 1 s
      // back from wherever it falls): the roll-up covers what its readings did, no less.
      a.start = Math.min(a.start, dur === null ? from : t - dur);
      const latest = t >= a.tLast;
      const first = a.w === 0;
      a.tLast = Math.max(a.tLast, t);
      // A zero-length reading stands for its instant: 1 ms, as the analysis weighs it.
      const w = dur === null ? 1 : Math.max(1, dur);
      a.w += w;
      for (let j = 0; j < m; j++) {
        const v = (b.values[j] as Float64Array)[i] as number;
        a.sum[j] = (a.sum[j] as number) + v * w;
        const kind = kinds[j] as RollKind;
        if (kind === 'or') a.last[j] = first ? v : orBits(a.last[j] as number, v);
        else if (kind === 'last' && latest) a.last[j] = v;
        const lo = b.extremes ? ((b.extremes.min[j] as Float64Array)[i] as number) : v;
        const hi = b.extremes ? ((b.extremes.max[j] as Float64Array)[i] as number) : v;
        if (lo < (a.min[j] as number)) a.min[j] = lo;
        if (hi > (a.max[j] as number)) a.max[j] = hi;
      }
    }
  }
  const out: RollOutput[] = [];
  for (const { head, kinds, accs } of groups.values()) {
    const list = [...accs.values()].sort((x, y) => x.tLast - y.tLast || x.lane - y.lane);
    const n = list.length;
    const m = head.ids.length;
    const col = (f: (a: Acc) => number): Float64Array => Float64Array.from(list, f);
    out.push({
      source: head.source,
      hasPid: head.hasPid,
      ids: [...head.ids],
      n,
      lane: head.lane ? col((a) => a.lane) : null,
      t: col((a) => a.tLast),
      // The block format's longest interval (an hour): readings that each cover an hour roll up into one that does.
      dur: col((a) => Math.min(MAX_DUR_MS, a.tLast - a.start)),
      values: head.ids.map((_, j) => col((a) => (kinds[j] === 'mean' ? Math.round(((a.sum[j] as number) / a.w) * MEAN_DECIMALS) / MEAN_DECIMALS : (a.last[j] as number)))),
      extremes: { min: Array.from({ length: m }, (_, j) => col((a) => a.min[j] as number)), max: Array.from({ length: m }, (_, j) => col((a) => a.max[j] as number)) },
    });
  }
  return out;
}

/**
 * Where a pruning step of one (run, host) ends: every reading at or before the returned time is
 * rolled up (or deleted) in the step, none after it. `starts`: the first times of the host's
 * oldest blocks of that resolution, ascending, at most `limit` + 1 of them. The end is a multiple
 * of `align` (10 s, so 1 s and 10 s buckets never straddle a step), before the first block left
 * for a later step, and at most `cutoff` (aligned down). A step takes at least one aligned span,
 * however many blocks it holds: a bound the blocks of 10 s would otherwise never pass. Null: nothing
 * is old enough.
 */
export function stepEnd(starts: readonly number[], limit: number, cutoff: number, align: number): number | null {
  const first = starts[0];
  if (first === undefined) return null;
  const last = Math.floor(cutoff / align) * align;
  if (first > last) return null;
  let end = last;
  const next = starts[limit];
  // A block left for later starts at `next`: end before it.
  if (next !== undefined) end = Math.min(end, Math.max(Math.ceil(first / align) * align, Math.floor((next - 1) / align) * align));
  return end;
}
