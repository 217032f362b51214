/**
 * Samples are stored one row each, metrics packed as (uint16 metric id, float64 value) pairs:
 * about half the bytes of JSON and no key strings repeated in every row. Float64 keeps
 * bitmasks and counters exact; ids come from the store's metric-name dictionary.
 */
const PAIR = 10;

export function encodeMetrics(m: Record<string, number>, idOf: (name: string) => number): Buffer {
  const keys = Object.keys(m);
  const buf = Buffer.allocUnsafe(keys.length * PAIR);
  let o = 0;
  for (const k of keys) {
    buf.writeUInt16LE(idOf(k), o);
    buf.writeDoubleLE(m[k] as number, o + 2);
    o += PAIR;
  }
  return buf;
}

export function decodeMetrics(buf: Uint8Array, nameOf: (id: number) => string): Record<string, number> {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const m: Record<string, number> = {};
  for (let o = 0; o + PAIR <= b.length; o += PAIR) m[nameOf(b.readUInt16LE(o))] = b.readDoubleLE(o + 2);
  return m;
}
