import type { MetricField } from './fields.js';

/**
 * `--help-query-gpu` lists each valid field on a line of its own, aliases joined by `or`:
 * `"clocks.current.sm" or "clocks.sm"`. Returns every accepted name mapped to its canonical
 * (first) name, which is also the name nvidia-smi prints in CSV headers.
 */
export function parseHelpQuery(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('"')) continue;
    const quoted = [...line.matchAll(/"([A-Za-z0-9_.]+)"/g)].map((m) => m[1] as string);
    const canonical = quoted[0];
    if (canonical === undefined) continue;
    for (const q of quoted) names.set(q, canonical);
  }
  return names;
}

export function partitionFields(
  wanted: readonly string[],
  valid: ReadonlyMap<string, string>,
): { supported: string[]; unsupported: string[] } {
  const supported: string[] = [];
  const unsupported: string[] = [];
  for (const f of wanted) (valid.has(f) ? supported : unsupported).push(f);
  return { supported, unsupported };
}

export interface GpuLine {
  index: number;
  uuid: string;
  m: Record<string, number>;
  /** metric → marker such as `[N/A]`, for values nvidia-smi did not give. */
  absent: Record<string, string>;
}

export type LineResult = { ok: true; line: GpuLine } | { ok: false; error: string };

/**
 * One `--query-gpu=index,uuid,<fields> --format=csv,noheader,nounits` line.
 * No field we ask for contains a comma (names are not queried in the stream), so a plain split is exact.
 */
export function parseQueryLine(line: string, fields: readonly MetricField[]): LineResult {
  const cells = line.split(',').map((c) => c.trim());
  if (cells.length !== fields.length + 2) {
    return { ok: false, error: `expected ${fields.length + 2} columns, got ${cells.length}` };
  }
  const [indexCell, uuid] = cells as [string, string];
  if (!/^\d+$/.test(indexCell)) return { ok: false, error: `GPU index is not a number: ${JSON.stringify(indexCell)}` };
  if (!/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(uuid)) return { ok: false, error: `not a GPU uuid: ${JSON.stringify(uuid)}` };
  const m: Record<string, number> = {};
  const absent: Record<string, string> = {};
  fields.forEach((f, i) => {
    const cell = f.parse(cells[i + 2] as string);
    if (cell.ok) m[f.metric] = cell.value;
    else absent[f.metric] = cell.reason;
  });
  return { ok: true, line: { index: Number(indexCell), uuid, m, absent } };
}

export function queryArgs(fields: readonly MetricField[], intervalMs: number | null): string[] {
  const args = [`--query-gpu=index,uuid,${fields.map((f) => f.field).join(',')}`, '--format=csv,noheader,nounits'];
  return intervalMs === null ? args : [...args, '-lms', String(intervalMs)];
}
