/**
 * Column codecs for sample blocks: times as a first value and delta-of-deltas, metric values as
 * decimal-scaled integers and their deltas, both as varint tokens where a run of unchanged
 * steps is one token. GPU and host readings are decimals with a few digits (util 97, power
 * 123.45 W) that mostly repeat or move a little from one reading to the next, so most values
 * take a byte or less; a column that is not all such decimals falls back to raw float64.
 *
 * Written here rather than taken from npm: the registry's general compressors (zstd, lz4,
 * deflate bindings) know nothing of times or decimals and cost more CPU than the collector's
 * whole budget per sample, and its few Gorilla-style time-series codecs are small unmaintained
 * packages that work on BigInt or allocate per value. This is varints and arithmetic.
 */
import { StagewatchError } from './errors.js';

/** Largest |scaled integer| a decimal column holds: its deltas' zigzag tokens stay under 2^53. */
const MAX_SCALED = 2 ** 49;
/** Decimal digits tried before a column is stored raw. */
const MAX_DIGITS = 6;
const SCALE = [1, 10, 100, 1000, 1e4, 1e5, 1e6];
const MODE_RAW = 0x10;

export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  private view: DataView;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(x: number): void {
    this.room(1);
    this.buf[this.len++] = x;
  }

  /** An unsigned integer up to 2^53, 7 bits a byte, low bits first. */
  varint(x: number): void {
    this.room(8);
    const b = this.buf;
    if (x < 0x10000000) {
      while (x >= 0x80) {
        b[this.len++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
    } else {
      while (x >= 0x80) {
        b[this.len++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
    }
    b[this.len++] = x;
  }

  /** A signed integer (|x| < 2^52), zigzag: small magnitudes of either sign take one byte. */
  zz(x: number): void {
    this.varint(x >= 0 ? 2 * x : -2 * x - 1);
  }

  f64(x: number): void {
    this.room(8);
    this.view.setFloat64(this.len, x, true);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** The bytes written, copied out (the writer may be reused). */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

/** Reads what ByteWriter wrote; every read past `end` is an error, never a silent zero. */
export class ByteReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(what: string): never {
    throw new StagewatchError('block-format', `${what} (byte ${this.pos} of ${this.end})`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('truncated');
    return this.buf[this.pos++] as number;
  }

  varint(): number {
    const b = this.buf;
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const c = b[this.pos++] as number;
      x += (c & 0x7f) * mul;
      if (c < 0x80) return x;
      mul *= 0x80;
    }
    return this.fail('varint longer than 8 bytes');
  }

  zz(): number {
    const u = this.varint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  f64(): number {
    if (this.pos + 8 > this.end) this.fail('truncated float64');
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }
}

/**
 * Differences of consecutive integers (the first against `prev`) as tokens: an odd token is a
 * change (zigzag in the upper bits), an even one a run of that many halves of no change.
 */
function writeSteps(w: ByteWriter, xs: ArrayLike<number>, from: number, to: number, prev: number): void {
  let run = 0;
  for (let i = from; i < to; i++) {
    const x = xs[i] as number;
    const d = x - prev;
    prev = x;
    if (d === 0) {
      run++;
      continue;
    }
    if (run > 0) w.varint(2 * run);
    run = 0;
    w.varint(2 * (d > 0 ? 2 * d : -2 * d - 1) + 1);
  }
  if (run > 0) w.varint(2 * run);
}

/** Reads `n` values of writeSteps into out (from `at`), or only checks them where out is null. */
function readSteps(r: ByteReader, n: number, prev: number, out: Float64Array | null, at: number): number {
  let i = 0;
  while (i < n) {
    const u = r.varint();
    if (u % 2 === 0) {
      const run = u / 2;
      if (run === 0 || run > n - i) r.fail(`a run of ${run} where ${n - i} values remain`);
      if (out) out.fill(prev, at + i, at + i + run);
      i += run;
    } else {
      const z = (u - 1) / 2;
      prev += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      if (out) out[at + i] = prev;
      i++;
    }
  }
  return prev;
}

/** Sample times (integer ms, non-decreasing): the first, then delta-of-deltas (`scratch` holds n-1 deltas). */
export function writeTimes(w: ByteWriter, t: ArrayLike<number>, n: number, scratch: Float64Array): void {
  w.zz(t[0] as number);
  for (let i = 1; i < n; i++) scratch[i - 1] = (t[i] as number) - (t[i - 1] as number);
  writeSteps(w, scratch, 0, n - 1, 0);
}

/**
 * Reads writeTimes' column of n times into out, checking each is a safe integer no earlier than
 * the one before. Returns the last time.
 */
export function readTimes(r: ByteReader, n: number, out: Float64Array): number {
  const t0 = r.zz();
  if (!Number.isSafeInteger(t0)) r.fail(`time ${t0} is not a safe integer`);
  out[0] = t0;
  if (n > 1) {
    // Deltas first (their own delta stream), then summed into times.
    readSteps(r, n - 1, 0, out, 1);
    let t = t0;
    for (let i = 1; i < n; i++) {
      const d = out[i] as number;
      if (d < 0) r.fail(`time ${i} is earlier than the one before`);
      t += d;
      out[i] = t;
    }
    if (!Number.isSafeInteger(t)) r.fail('time past 2^53');
  }
  return out[n - 1] as number;
}

/** The fewest decimal digits that hold every value exactly, or -1 (then the column is raw). */
export function decimalDigits(v: ArrayLike<number>, from: number, to: number): number {
  let k = 0;
  for (let i = from; i < to; i++) {
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

/** One metric column of values v[from..to): decimal-scaled deltas where exact, else raw float64. */
export function writeValues(w: ByteWriter, v: ArrayLike<number>, from: number, to: number, scratch: Float64Array): void {
  const k = decimalDigits(v, from, to);
  if (k < 0) {
    w.byte(MODE_RAW);
    for (let i = from; i < to; i++) w.f64(v[i] as number);
    return;
  }
  w.byte(k);
  const s = SCALE[k] as number;
  for (let i = from; i < to; i++) scratch[i - from] = Math.round((v[i] as number) * s);
  writeSteps(w, scratch, 0, to - from, 0);
}

/**
 * Reads n (at least one) values of writeValues into out (from `at`; null: only checks them);
 * refuses non-finite values. Returns the last value.
 */
export function readValues(r: ByteReader, n: number, out: Float64Array | null, at = 0): number {
  const mode = r.byte();
  let last = 0;
  if (mode === MODE_RAW) {
    for (let i = 0; i < n; i++) {
      last = r.f64();
      if (!Number.isFinite(last)) r.fail(`value ${last} is not finite`);
      if (out) out[at + i] = last;
    }
    return last;
  }
  if (mode > MAX_DIGITS) r.fail(`unknown column mode ${mode}`);
  last = readSteps(r, n, 0, out, at);
  if (mode === 0) return last;
  // Division, not multiplication by 0.01: m / 100 is the double nearest the decimal, as parsed.
  const s = SCALE[mode] as number;
  if (out) for (let i = at; i < at + n; i++) out[i] = (out[i] as number) / s;
  return last / s;
}

/** Integers (ordinals) as deltas from 0. */
export function writeInts(w: ByteWriter, v: ArrayLike<number>, n: number): void {
  writeSteps(w, v, 0, n, 0);
}

export function readInts(r: ByteReader, n: number, out: Float64Array): void {
  readSteps(r, n, 0, out, 0);
}
