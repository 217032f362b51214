import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A retention flag's DURATION: a whole number and a unit (s, m, h, d, w: `7d`, `36h`), or 0 for
 * "keep for good"; returns ms. Written here rather than taken from npm's `ms`: that one reads a
 * bare number as milliseconds, so `--retain-raw 7` would silently keep 7 ms of data; here a
 * number without a unit (other than 0) is refused. At least `minMs` unless 0.
 */
export function durationFlagSchema(flag: string, minMs: number) {
  return z.string().transform((raw, ctx) => {
    const m = /^\s*(\d+)\s*([smhdw]?)\s*$/.exec(raw);
    const ms = m && (m[1] === '0' || m[2]) ? Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0) : NaN;
    if (!Number.isSafeInteger(ms) || (ms !== 0 && ms < minMs)) {
      ctx.addIssue({ code: 'custom', message: `--${flag} must be 0 (keep for good) or a duration of at least ${minMs / 60_000}m such as 7d, 36h or 90m (got ${JSON.stringify(raw)})` });
      return z.NEVER;
    }
    return ms;
  });
}

/** A duration in the flags' words: 7d, 36h, 0 (keep). */
export function durationText(ms: number): string {
  if (ms === 0) return 'kept for good';
  for (const u of ['d', 'h', 'm', 's']) if (ms % (UNIT_MS[u] as number) === 0) return `${ms / (UNIT_MS[u] as number)}${u}`;
  return `${ms} ms`;
}
