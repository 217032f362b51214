import { crc32 } from 'node:zlib';

/** One spooled batch, all of it told by its file name: `<seq>-<samples>-<crc32>.json`. */
export interface Entry {
  seq: number;
  samples: number;
  bytes: number;
  /** CRC-32 of the file's bytes; null on entries written before checksums (read, parsed, sent). */
  crc: number | null;
}

const FILE = /^(\d{12})-(\d+)(?:-([0-9a-f]{8}))?\.json$/;
const hex = (n: number): string => n.toString(16).padStart(8, '0');

export const fileName = (e: Entry): string => `${String(e.seq).padStart(12, '0')}-${e.samples}${e.crc === null ? '' : `-${hex(e.crc)}`}.json`;

/** The entry a file name describes (its size given), or null for any other file. */
export function entryOf(name: string, bytes: number): Entry | null {
  const m = FILE.exec(name);
  return m ? { seq: Number(m[1]), samples: Number(m[2]), bytes, crc: m[3] ? parseInt(m[3], 16) : null } : null;
}

/** The entry for freshly written bytes. */
export const entryFor = (seq: number, samples: number, data: Buffer): Entry => ({ seq, samples, bytes: data.length, crc: crc32(data) });

/** What is wrong with bytes read back for `e`, in words; null when they are whole. */
export function damage(e: Entry, data: Buffer): string | null {
  if (e.crc === null) return isJsonObject(data) ? null : 'not a JSON object';
  const crc = crc32(data);
  return crc === e.crc ? null : `checksum ${hex(crc)}, expected ${hex(e.crc)}`;
}

function isJsonObject(data: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
