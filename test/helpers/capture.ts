import { fixture } from './fixtures.js';

/** The capture's stream rows as `{field name → raw cell}`, keyed by the header's canonical names. */
export function captureStreamRows(): Array<Record<string, string>> {
  const [header, ...rows] = fixture('stream-lms100.csv').trim().split('\n');
  const names = (header as string).split(', ').map((h) => h.replace(/ \[.*\]$/, ''));
  return rows.map((r) => Object.fromEntries(r.split(', ').map((c, i) => [names[i] as string, c])));
}

/** Canonical header name of each field the agent asks for (aliases such as clocks.sm differ). */
export const CANONICAL: Record<string, string> = {
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
};

/** A capture row as the agent's own query would print it: index, uuid, then the fields. */
export function asQueryLine(row: Record<string, string>, fields: readonly string[]): string {
  return ['index', 'uuid', ...fields].map((f) => row[CANONICAL[f] ?? f]).join(', ');
}
