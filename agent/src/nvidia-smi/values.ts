/**
 * nvidia-smi cell values. Markers such as `[N/A]` mean "no value" and must never become 0:
 * a 0 % SM activity and an unknown one lead to opposite conclusions.
 */
export type Cell = { ok: true; value: number } | { ok: false; reason: string };

const MARKER = /^\[[^\]]*\]$|^-$|^N\/A$/;

/** The reason a cell has no value, or null when it holds something to parse. */
export function absentReason(raw: string): string | null {
  const s = raw.trim();
  if (s === '') return 'empty';
  return MARKER.test(s) ? s : null;
}

/** A number, optionally followed by a unit as printed without `nounits` ("81559 MiB", "74.13 W"). */
export function parseNumberCell(raw: string): Cell {
  const reason = absentReason(raw);
  if (reason) return { ok: false, reason };
  const m = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%/]+)?$/.exec(raw.trim());
  if (!m) return { ok: false, reason: 'unparseable' };
  return { ok: true, value: Number(m[1]) };
}

/** `0x0000000000000001` bitmasks; the 64-bit masks used so far fit a double exactly below 2^53. */
export function parseHexCell(raw: string): Cell {
  const reason = absentReason(raw);
  if (reason) return { ok: false, reason };
  const s = raw.trim();
  if (!/^0x[0-9a-fA-F]+$/.test(s)) return { ok: false, reason: 'unparseable' };
  const v = Number(BigInt(s));
  return Number.isSafeInteger(v) ? { ok: true, value: v } : { ok: false, reason: 'out-of-range' };
}

/** `P0`..`P15` become 0..15. */
export function parsePstateCell(raw: string): Cell {
  const reason = absentReason(raw);
  if (reason) return { ok: false, reason };
  const m = /^P(\d{1,2})$/.exec(raw.trim());
  return m ? { ok: true, value: Number(m[1]) } : { ok: false, reason: 'unparseable' };
}

/** `Enabled`/`Disabled` become 1/0. */
export function parseEnabledCell(raw: string): Cell {
  const reason = absentReason(raw);
  if (reason) return { ok: false, reason };
  const s = raw.trim();
  if (s === 'Enabled') return { ok: true, value: 1 };
  if (s === 'Disabled') return { ok: true, value: 0 };
  return { ok: false, reason: 'unparseable' };
}
