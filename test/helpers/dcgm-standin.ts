import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, ROOT } from './fixtures.js';

export const STANDIN_SRC = path.join(ROOT, 'test', 'dcgm-standin', 'libdcgm-standin.c');

/** Builds the stand-in libdcgm from C into dir (gcc, at test time); returns the library's path. */
export function buildStandin(dir: string): string {
  const lib = path.join(dir, 'libdcgm.so.4');
  execFileSync('gcc', ['-shared', '-fPIC', '-Wall', '-Werror', '-o', lib, STANDIN_SRC]);
  return lib;
}

/** The replay the stand-in serves, in DCGM's units, and what the agent should make of each row. */
export interface ReplayRow {
  /** sm occ tensor dram (ratios) pcitx pcirx nvlrx nvltx (bytes/s); null: the capture had "-". */
  cols: Array<number | null>;
}

const COLS = ['smutil', 'smocc', 'mmaact', 'dram', 'pcitx', 'pcirx', 'nvlrx', 'nvltx'] as const;

/** Rows of a captured `nvidia-smi dmon --gpm-metrics` table, by column name ("-" → null). */
function dmonRows(file: string): Array<Record<string, number | null>> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = (lines[0] as string).replace(/^#/, '').trim().split(/\s+/);
  return lines
    .filter((l) => /^\s+\d\d:\d\d:\d\d/.test(l))
    .map((l) => {
      const cells = l.trim().split(/\s+/);
      return Object.fromEntries(header.map((h, i) => [h, cells[i] === '-' || cells[i] === undefined ? null : Number(cells[i])]));
    });
}

/**
 * The real captures as DCGM would give them: the H100 run's GPM activity while it denoised and
 * decoded (h100-staged/dmon-gpm.txt, no link columns: served as DCGM blanks), then the capture
 * with PCIe/NVLink columns (h100-gpm-extra/dmon-gpm-all.txt). GPM % → DCGM ratio, MiB/s → bytes/s.
 */
export function replayRows(): ReplayRow[] {
  const staged = dmonRows(path.join(FIXTURES, 'h100-staged', 'dmon-gpm.txt')).filter((r) => r.smutil !== null && (r.smutil as number) > 0);
  const extra = dmonRows(path.join(FIXTURES, 'h100-gpm-extra', 'dmon-gpm-all.txt')).filter((r) => r.smutil !== null);
  return [...staged, ...extra].map((r) => ({
    cols: COLS.map((c, i) => {
      const v = r[c] ?? null;
      return v === null ? null : i < 4 ? v / 100 : v * 1048576;
    }),
  }));
}

export function writeReplay(dir: string, rows: readonly ReplayRow[]): string {
  const file = path.join(dir, 'replay.txt');
  writeFileSync(file, `${rows.map((r) => r.cols.map((c) => (c === null ? '-' : String(c))).join(' ')).join('\n')}\n`);
  return file;
}

/** What the agent should emit for a row: % and MiB/s, the capture's blanks left out. */
export function expectedMetrics(row: ReplayRow): Record<string, number> {
  const names = ['sm_active_pct', 'sm_occupancy_pct', 'tensor_active_pct', 'dram_active_pct', 'pcie_tx_mibps', 'pcie_rx_mibps', 'nvlink_rx_mibps', 'nvlink_tx_mibps'];
  const m: Record<string, number> = {};
  row.cols.forEach((c, i) => {
    if (c !== null) m[names[i] as string] = Math.round((i < 4 ? c * 100 : Math.trunc(c) / 1048576) * 100) / 100;
  });
  return m;
}
