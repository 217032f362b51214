/**
 * Column codecs for sample blocks: times as a first value and delta-of-deltas, metric values as
 * decimal-scaled integers and their deltas, both as varint tokens where a run of unchanged
 * steps is one token. GPU and host readings are decimals with a few digits (util 97, power
 * 123.45 W) that mostly repeat or move a little from one reading to the next, so most values
 * take a byte or less; a column that is not all such decimals falls back to raw float64.
 *
 * Each value is coded against its lane's last (Lanes): a GPU's own previous reading.
 *
 * Written here rather than taken from npm: the registry's general compressors (zstd, lz4,
 * deflate bindings) find repeated bytes and know nothing of times, decimals or GPUs, and its few
 * Gorilla-style time-series codecs are small unmaintained packages that work on BigInt or
 * allocate per value. This is varints and arithmetic over typed arrays.
 */
import { ByteReader, ByteWriter } from './bytes.js';

export { ByteReader, ByteWriter };

/** Largest |scaled integer| a decimal column holds: its deltas' zigzag tokens stay under 2^53. */
const MAX_SCALED = 2 ** 49;
/** Decimal digits tried before a column is stored raw. */
const MAX_DIGITS = 6;
const SCALE = [1, 10, 100, 1000, 1e4, 1e5, 1e6];
const MODE_RAW = 0x10;
const SMALL_LANES = 256;

/**
 * Which lane each sample of a block is in (the GPUs of a gpu block, the processes of a per-process
 * block), with each lane's state while a column is coded. A value is coded against its lane's
 * previous value or, before its lane has one, against the sample just before it: one GPU's
 * readings move little from one to the next, and the GPUs of one job at one instant differ little,
 * so both a long block and a block of one reading per GPU take about a byte a value or less.
 */
export class Lanes {
  readonly prev: Float64Array;
  readonly prevD: Float64Array;
  readonly seen: Uint8Array;

  /** `of`: lane index (0..count-1) of each sample, or null: one lane. */
  constructor(
    readonly of: ArrayLike<number> | null,
    readonly count: number,
  ) {
    this.prev = new Float64Array(count);
    this.prevD = new Float64Array(count);
    this.seen = new Uint8Array(count);
  }

  /** Lane indexes for lane values (GPU indexes, pids), in order of first appearance. */
  static of(values: ArrayLike<number>, n: number): Lanes {
    const of = new Uint32Array(n);
    // GPU indexes are small: an array, not a Map, numbers them.
    const small = new Int32Array(SMALL_LANES).fill(-1);
    const index = new Map<number, number>();
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      let l: number;
      if (v >= 0 && v < SMALL_LANES && Number.isInteger(v)) {
        l = small[v] as number;
        if (l < 0) small[v] = l = count++;
      } else {
        const k = index.get(v);
        if (k === undefined) index.set(v, (l = count++));
        else l = k;
      }
      of[i] = l;
    }
    return new Lanes(of, count);
  }
}

export const ONE_LANE = (): Lanes => new Lanes(null, 1);

const zigzag = (d: number): number => (d > 0 ? 2 * d : -2 * d - 1);

/** Steps as tokens: an odd token is a change (zigzag in the upper bits), an even one a run of that many halves of no change. */
class StepTokens {
  private run = 0;

  constructor(private readonly w: ByteWriter) {}

  step(d: number): void {
    if (d === 0) {
      this.run++;
      return;
    }
    this.end();
    this.w.varint(2 * zigzag(d) + 1);
  }

  end(): void {
    if (this.run > 0) this.w.varint(2 * this.run);
    this.run = 0;
  }
}

/** Integers as steps from their references (Lanes). */
function writeSteps(w: ByteWriter, xs: ArrayLike<number>, n: number, lanes: Lanes): void {
  const { of, prev, seen } = lanes;
  seen.fill(0);
  const tokens = new StepTokens(w);
  let last = 0;
  for (let i = 0; i < n; i++) {
    const l = of ? (of[i] as number) : 0;
    const x = xs[i] as number;
    tokens.step(x - (seen[l] ? (prev[l] as number) : last));
    seen[l] = 1;
    prev[l] = x;
    last = x;
  }
  tokens.end();
}

/**
 * Reads n integers of writeSteps into out, or only walks them (out null). Either way each lane's
 * last value is left in lanes.prev. Walking skips a run of no change in one step once every lane
 * has a value: the collector's check of a block costs a token, not a sample.
 */
function readSteps(r: ByteReader, n: number, out: Float64Array | null, lanes: Lanes): void {
  const { of, prev, seen } = lanes;
  let last = 0;
  let i = 0;
  if (!of) {
    while (i < n) {
      const u = r.varint();
      if (u % 2 === 0) {
        const k = u / 2;
        if (k === 0 || k > n - i) r.fail(`a run of ${k} where ${n - i} values remain`);
        if (out) out.fill(last, i, i + k);
        i += k;
      } else {
        const z = (u - 1) / 2;
        last += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
        if (out) out[i] = last;
        i++;
      }
    }
    prev[0] = last;
    return;
  }
  seen.fill(0);
  let unseen = lanes.count;
  while (i < n) {
    const u = r.varint();
    if (u % 2 === 0) {
      const k = u / 2;
      if (k === 0 || k > n - i) r.fail(`a run of ${k} where ${n - i} values remain`);
      if (unseen === 0 && !out) {
        last = prev[of[i + k - 1] as number] as number;
        i += k;
        continue;
      }
      for (const end = i + k; i < end; i++) {
        const l = of[i] as number;
        if (!seen[l]) {
          seen[l] = 1;
          unseen--;
          prev[l] = last;
        }
        last = prev[l] as number;
        if (out) out[i] = last;
      }
    } else {
      const z = (u - 1) / 2;
      const l = of[i] as number;
      if (!seen[l]) {
        seen[l] = 1;
        unseen--;
        prev[l] = last;
      }
      last = (prev[l] as number) + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
      prev[l] = last;
      if (out) out[i] = last;
      i++;
    }
  }
}

/**
 * Sample times (integer ms, non-decreasing) after the first (which the caller writes, w.zz): for
 * each sample the change of its lane's step (delta-of-delta); a lane's first sample steps from the
 * sample before it.
 */
export function writeTimeSteps(w: ByteWriter, t: ArrayLike<number>, n: number, lanes: Lanes): void {
  const { of, prev, prevD, seen } = lanes;
  seen.fill(0);
  let last = t[0] as number;
  const l0 = of ? (of[0] as number) : 0;
  seen[l0] = 1;
  prev[l0] = last;
  prevD[l0] = 0;
  const tokens = new StepTokens(w);
  for (let i = 1; i < n; i++) {
    const l = of ? (of[i] as number) : 0;
    const x = t[i] as number;
    const d = x - (seen[l] ? (prev[l] as number) : last);
    tokens.step(seen[l] ? d - (prevD[l] as number) : d);
    seen[l] = 1;
    prev[l] = x;
    prevD[l] = d;
    last = x;
  }
  tokens.end();
}

/**
 * Reads writeTimeSteps' times into out[1..n), out[0] holding the first, checking each is a safe
 * integer no earlier than the one before. Returns the last time.
 */
export function readTimeSteps(r: ByteReader, n: number, out: Float64Array, lanes: Lanes): number {
  const { of, prev, prevD, seen } = lanes;
  seen.fill(0);
  let last = out[0] as number;
  if (!Number.isSafeInteger(last)) r.fail(`time ${last} is not a safe integer`);
  const l0 = of ? (of[0] as number) : 0;
  seen[l0] = 1;
  prev[l0] = last;
  prevD[l0] = 0;
  let i = 1;
  while (i < n) {
    const u = r.varint();
    let dd = 0;
    let k = 1;
    if (u % 2 === 0) {
      k = u / 2;
      if (k === 0 || k > n - i) r.fail(`a run of ${k} where ${n - i} times remain`);
    } else {
      const z = (u - 1) / 2;
      dd = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    for (const end = i + k; i < end; i++) {
      const l = of ? (of[i] as number) : 0;
      const d = seen[l] ? (prevD[l] as number) + dd : dd;
      const x = (seen[l] ? (prev[l] as number) : last) + d;
      if (x < last) r.fail(`time ${i} is earlier than the one before`);
      seen[l] = 1;
      prev[l] = x;
      prevD[l] = d;
      last = x;
      out[i] = x;
    }
  }
  if (!Number.isSafeInteger(last)) r.fail('time past 2^53');
  return last;
}

/** The fewest decimal digits that hold every value exactly, or -1 (then the column is raw). */
export function decimalDigits(v: ArrayLike<number>, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    // -0 would come back as 0.
    if (x === 0 && 1 / x < 0) return -1;
    for (;;) {
      const s = SCALE[k] as number;
      const m = Math.round(x * s);
      if (m / s === x && Math.abs(m) <= MAX_SCALED) break;
      if (++k > MAX_DIGITS || !Number.isFinite(x)) return -1;
    }
  }
  return k;
}

/** One metric column of n values: decimal-scaled steps where exact, else raw float64. */
export function writeValues(w: ByteWriter, v: ArrayLike<number>, n: number, scratch: Float64Array, lanes: Lanes): void {
  const k = decimalDigits(v, n);
  if (k < 0) {
    w.byte(MODE_RAW);
    for (let i = 0; i < n; i++) w.f64(v[i] as number);
    return;
  }
  w.byte(k);
  const s = SCALE[k] as number;
  for (let i = 0; i < n; i++) scratch[i] = Math.round((v[i] as number) * s);
  writeSteps(w, scratch, n, lanes);
}

/**
 * Reads n values of writeValues into out (null: only checks them), refusing non-finite values;
 * each lane's last value is left in lanes.prev.
 */
export function readValues(r: ByteReader, n: number, out: Float64Array | null, lanes: Lanes): void {
  const mode = r.byte();
  if (mode === MODE_RAW) {
    const { of, prev } = lanes;
    for (let i = 0; i < n; i++) {
      const x = r.f64();
      if (!Number.isFinite(x)) r.fail(`value ${x} is not finite`);
      if (out) out[i] = x;
      prev[of ? (of[i] as number) : 0] = x;
    }
    return;
  }
  if (mode > MAX_DIGITS) r.fail(`unknown column mode ${mode}`);
  readSteps(r, n, out, lanes);
  if (mode === 0) return;
  // Division, not multiplication by 0.01: m / 100 is the double nearest the decimal, as parsed.
  const s = SCALE[mode] as number;
  if (out) for (let i = 0; i < n; i++) out[i] = (out[i] as number) / s;
  for (let l = 0; l < lanes.count; l++) lanes.prev[l] = (lanes.prev[l] as number) / s;
}

/** Integers (lane values, ordinals) as steps from the one before. */
export function writeInts(w: ByteWriter, v: ArrayLike<number>, n: number): void {
  writeSteps(w, v, n, ONE_LANE());
}

export function readInts(r: ByteReader, n: number, out: Float64Array): void {
  readSteps(r, n, out, ONE_LANE());
}
