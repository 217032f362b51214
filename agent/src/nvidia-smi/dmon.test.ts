import { describe, expect, it } from 'vitest';
import { fixture, GPM_EXTRA } from '../../../test/helpers/fixtures.js';
import { DmonParser, dmonArgs, GPM_COLUMNS, parseDmonHelpGpmIds, type DmonRow } from './dmon.js';

function parseAll(text: string): { rows: DmonRow[]; headers: number; bad: string[]; parser: DmonParser } {
  const parser = new DmonParser();
  const rows: DmonRow[] = [];
  const bad: string[] = [];
  let headers = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const r = parser.line(line);
    if (r.kind === 'row') rows.push(r.row);
    else if (r.kind === 'bad') bad.push(r.error);
    else headers++;
  }
  return { rows, headers, bad, parser };
}

describe('dmon --gpm-metrics from the H100 capture', () => {
  const { rows, headers, bad } = parseAll(fixture('dmon-gpm.txt'));

  it('reads every row, through the repeated header', () => {
    expect(bad).toEqual([]);
    expect(headers).toBe(4);
    expect(rows).toHaveLength(66);
    expect(rows.every((r) => r.gpu === 0)).toBe(true);
  });

  it('treats the first samples (`-`) as absent, never 0', () => {
    expect(rows[0]?.m).toEqual({});
    expect(rows[0]?.absent).toMatchObject({ sm_active_pct: '-', tensor_active_pct: '-' });
    expect(rows[2]?.m.sm_active_pct).toBe(0);
  });

  it('reads SM activity from smutil, not from dmon\'s utilization column', () => {
    // In vae_decode utilization read 100 while SM activity read 86 and occupancy 46.
    const vae = rows.filter((r) => r.m.sm_active_pct === 86);
    expect(vae.length).toBeGreaterThan(0);
    for (const r of vae) expect(r.m).toMatchObject({ sm_occupancy_pct: 46, gr_active_pct: 100 });
    const denoise = rows.filter((r) => r.m.sm_active_pct === 96);
    expect(denoise.length).toBeGreaterThanOrEqual(10);
    expect(denoise[0]?.m).toMatchObject({ tensor_active_pct: 93, dram_active_pct: 25 });
    for (const r of rows) expect(Object.keys(r.m).every((k) => GPM_COLUMNS.some((c) => c.metric === k))).toBe(true);
  });
});

describe('dmon without GPM', () => {
  it('yields rows with no GPM metric at all', () => {
    const { rows, bad, parser } = parseAll(fixture('dmon.txt'));
    expect(bad).toEqual([]);
    expect(rows.length).toBeGreaterThan(60);
    expect(rows.every((r) => Object.keys(r.m).length === 0)).toBe(true);
    expect(parser.hasGpmColumns()).toBe(false);
  });
});

describe('dmon GPM PCIe and NVLink columns (second H100 capture)', () => {
  it('reads pcitx/pcirx/nvlrx/nvltx in the whitespace form', () => {
    const { rows, bad } = parseAll(fixture('dmon-gpm-all.txt', GPM_EXTRA).replace(/exit=\d+\s*$/, ''));
    expect(bad).toEqual([]);
    expect(rows).toHaveLength(8);
    expect(rows[7]?.m).toEqual({
      gr_active_pct: 0, sm_active_pct: 0, sm_occupancy_pct: 0, tensor_active_pct: 0, dram_active_pct: 0,
      pcie_tx_mibps: 2, pcie_rx_mibps: 0, nvlink_rx_mibps: 0, nvlink_tx_mibps: 0,
    });
  });

  it('reads the CSV form, ignoring the utilization column named sm', () => {
    const { rows, bad } = parseAll(fixture('dmon-gpm-csv.txt', GPM_EXTRA).replace(/exit=\d+\s*$/, ''));
    expect(bad).toEqual([]);
    expect(rows).toHaveLength(6);
    expect(rows[0]?.m).toEqual({});
    expect(Object.keys(rows[3]?.m ?? {}).sort()).toEqual(
      ['dram_active_pct', 'nvlink_rx_mibps', 'nvlink_tx_mibps', 'pcie_rx_mibps', 'pcie_tx_mibps', 'sm_active_pct', 'sm_occupancy_pct', 'tensor_active_pct'],
    );
  });

  it('reads the non-GPM PCIe throughput form without taking it for GPM', () => {
    const { rows } = parseAll(fixture('dmon-t.txt', GPM_EXTRA).replace(/exit=\d+\s*$/, ''));
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => Object.keys(r.m).length === 0)).toBe(true);
  });
});

describe('dmon -h', () => {
  it('lists the GPM ids we ask for under the names we expect', () => {
    const ids = parseDmonHelpGpmIds(fixture('dmon-help.txt'));
    expect(ids.get(2)).toBe('SM Activity');
    expect(ids.get(3)).toBe('SM Occupancy');
    expect(ids.get(5)).toBe('Tensor Activity');
    expect(ids.get(10)).toBe('DRAM Activity');
    expect(ids.get(20)).toBe('PCIe TX');
    expect(ids.get(21)).toBe('PCIe RX');
    expect(ids.get(60)).toBe('NVLink Total RX');
    expect(ids.get(61)).toBe('NVLink Total TX');
    for (const c of GPM_COLUMNS) expect(ids.has(c.id), String(c.id)).toBe(true);
  });

  it('builds the dmon command line', () => {
    expect(dmonArgs([2, 3], 1, 1)).toEqual(['dmon', '--gpm-metrics', '2,3', '-o', 'T', '-d', '1', '-c', '1']);
  });
});
