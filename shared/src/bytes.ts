/**
 * Bytes for the column codecs (column-codec.ts): a growable writer and a bounds-checked reader of
 * varints (7 bits a byte, low first, up to 2^53), zigzag integers and little-endian float64s.
 */
import { StagewatchError } from './errors.js';

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
