import { describe, expect, it } from 'vitest';
import { CONNECT_V2_PARAMS_VERSION2, DCGM_FP64_BLANK, DCGM_INT64_BLANK, FIELD_VALUE_V1_SIZE, FIELD_VALUE_VERSION1 } from './bindings.js';
import { DCGM_FIELDS, valuesToMetrics, type RawValue } from './session.js';

const D = 'd'.charCodeAt(0);
const I = 'i'.charCodeAt(0);
const v = (fieldId: number, x: number | bigint, extra: Partial<RawValue> = {}): RawValue => ({
  version: FIELD_VALUE_VERSION1,
  fieldId,
  fieldType: typeof x === 'bigint' ? I : D,
  status: 0,
  ts: 1_795_000_000_000_000,
  dbl: typeof x === 'number' ? x : 0,
  i64: typeof x === 'bigint' ? x : 0n,
  ...extra,
});
const err = (c: number): string => `error ${c}`;

describe('DCGM ABI constants (dcgm_structs.h)', () => {
  it('dcgmFieldValue_v1 is 4120 bytes; versions are sizeof | ver << 24', () => {
    expect(FIELD_VALUE_V1_SIZE).toBe(4 + 2 + 2 + 4 + 4 + 8 + 4096);
    expect(FIELD_VALUE_VERSION1).toBe(4120 + (1 << 24));
    expect(CONNECT_V2_PARAMS_VERSION2).toBe(16 + (2 << 24));
  });

  it('watches the profiling fields of dcgm_fields.h', () => {
    expect(DCGM_FIELDS.map((f) => [f.id, f.metric])).toEqual([
      [1002, 'sm_active_pct'],
      [1003, 'sm_occupancy_pct'],
      [1004, 'tensor_active_pct'],
      [1005, 'dram_active_pct'],
      [1009, 'pcie_tx_mibps'],
      [1010, 'pcie_rx_mibps'],
      [1011, 'nvlink_tx_mibps'],
      [1012, 'nvlink_rx_mibps'],
    ]);
  });
});

describe('valuesToMetrics', () => {
  it('ratios become %, bytes per second MiB/s, stamped at the newest value', () => {
    const r = valuesToMetrics([v(1002, 0.8612), v(1003, 0.46), v(1010, 3n * 1048576n, { ts: 1_795_000_000_100_000 }), v(1012, 0n)], err);
    expect(r).toEqual({ t: 1_795_000_000_100, m: { sm_active_pct: 86.12, sm_occupancy_pct: 46, pcie_rx_mibps: 3, nvlink_rx_mibps: 0 }, absent: {} });
  });

  it('DCGM blanks and failed statuses are absent with a reason, never 0', () => {
    const r = valuesToMetrics([v(1002, DCGM_FP64_BLANK), v(1010, DCGM_INT64_BLANK + 1n), v(1004, 0.5, { status: -6 }), v(1005, 0.2, { version: 4120 + (2 << 24) })], err);
    expect(r.m).toEqual({});
    expect(r.t).toBeNull();
    expect(r.absent).toEqual({
      sm_active_pct: '[DCGM blank]',
      pcie_rx_mibps: '[DCGM blank]',
      tensor_active_pct: '[error -6]',
      dram_active_pct: `[dcgmFieldValue version ${4120 + (2 << 24)} is not v1 (${FIELD_VALUE_VERSION1})]`,
    });
  });
});
