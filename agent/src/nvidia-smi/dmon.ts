import type { GpuMetric } from '@stagewatch/shared';
import { parseNumberCell } from './values.js';

/** GPM metric ids we ask `dmon --gpm-metrics` for, and the column each prints. */
export const GPM_COLUMNS: ReadonlyArray<{ id: number; column: string; metric: GpuMetric }> = [
  { id: 1, column: 'gract', metric: 'gr_active_pct' },
  { id: 2, column: 'smutil', metric: 'sm_active_pct' },
  { id: 3, column: 'smocc', metric: 'sm_occupancy_pct' },
  { id: 5, column: 'mmaact', metric: 'tensor_active_pct' },
  { id: 10, column: 'dram', metric: 'dram_active_pct' },
  { id: 20, column: 'pcitx', metric: 'pcie_tx_mibps' },
  { id: 21, column: 'pcirx', metric: 'pcie_rx_mibps' },
  { id: 60, column: 'nvlrx', metric: 'nvlink_rx_mibps' },
  { id: 61, column: 'nvltx', metric: 'nvlink_tx_mibps' },
];

export const GPM_IDS: readonly number[] = GPM_COLUMNS.map((c) => c.id);
/** SM, occupancy, tensor and DRAM activity: what every GPM-capable GPU has. */
export const GPM_CORE_IDS: readonly number[] = [1, 2, 3, 5, 10];

export function dmonArgs(ids: readonly number[], delayS: number, count?: number): string[] {
  const args = ['dmon', '--gpm-metrics', ids.join(','), '-o', 'T', '-d', String(delayS)];
  return count === undefined ? args : [...args, '-c', String(count)];
}

/** `dmon -h` lists GPM metrics as `SM Activity = 2`; ranges like `30-37` are skipped. */
export function parseDmonHelpGpmIds(text: string): Map<number, string> {
  const ids = new Map<number, string>();
  for (const m of text.matchAll(/^\s+([A-Za-z0-9 -]+?)\s+=\s+(\d+)\s*$/gm)) ids.set(Number(m[2]), (m[1] as string).trim());
  return ids;
}

export interface DmonRow {
  gpu: number;
  m: Record<string, number>;
  absent: Record<string, string>;
}

export type DmonLine = { kind: 'header' } | { kind: 'row'; row: DmonRow } | { kind: 'bad'; error: string };

/**
 * Stateful, because dmon prints a header (names, then units) and repeats it every ~40 rows, in
 * whitespace columns by default or comma-separated with `--format csv`. Columns are found by
 * name; only GPM columns are read, since dmon's own `sm` column is utilization, not SM activity.
 */
export class DmonParser {
  private columns: string[] | null = null;

  line(raw: string): DmonLine {
    const text = raw.trim();
    if (text === '') return { kind: 'header' };
    if (text.startsWith('#')) {
      const names = splitCells(text.slice(1));
      // The second header line carries units (`GPM:%`); the first carries names.
      if (!names.some((n) => n.includes(':') || n === 'Idx')) this.columns = names.map((n) => n.toLowerCase());
      return { kind: 'header' };
    }
    if (!this.columns) return { kind: 'bad', error: 'data before any dmon header' };
    const cells = splitCells(text);
    if (cells.length !== this.columns.length) {
      return { kind: 'bad', error: `expected ${this.columns.length} dmon columns, got ${cells.length}` };
    }
    const gpuAt = this.columns.indexOf('gpu');
    const gpuCell = gpuAt >= 0 ? cells[gpuAt] : undefined;
    if (gpuCell === undefined || !/^\d+$/.test(gpuCell)) return { kind: 'bad', error: `no GPU index in dmon row: ${text}` };
    const m: Record<string, number> = {};
    const absent: Record<string, string> = {};
    for (const { column, metric } of GPM_COLUMNS) {
      const at = this.columns.indexOf(column);
      if (at < 0) continue;
      const cell = parseNumberCell(cells[at] as string);
      if (cell.ok) m[metric] = cell.value;
      else absent[metric] = cell.reason;
    }
    return { kind: 'row', row: { gpu: Number(gpuCell), m, absent } };
  }

  hasGpmColumns(): boolean {
    return this.columns !== null && GPM_COLUMNS.some((c) => this.columns?.includes(c.column));
  }
}

function splitCells(text: string): string[] {
  return text.includes(',') ? text.split(',').map((c) => c.trim()) : text.trim().split(/\s+/);
}
