import { describe, expect, it } from 'vitest';
import { counterRateMibps, nvlinkCapacityMibps, pcieCapacityMibps } from '@stagewatch/shared';
import { CostPacer, everyTicks } from '../samplers/pacer.js';
import { decodeFieldValues, decodeProcessInfos, decodeProcessUtil, decodeSamples, encodeFieldRequests, nvlinkSpeedField, readValue } from './decode.js';
import { calibrate, planGpm } from './gpm.js';
import { utilWindows } from './util-samples.js';

describe('NVML struct layouts (nvml.h)', () => {
  it('writes field requests and reads nvmlFieldValue_t back by value type', () => {
    const buf = encodeFieldRequests([{ fieldId: 197 }, { fieldId: 138, scopeId: 0xffffffff }, { fieldId: 90 }]);
    expect(buf.length).toBe(120);
    expect([buf.readUInt32LE(0), buf.readUInt32LE(40), buf.readUInt32LE(44)]).toEqual([197, 138, 0xffffffff]);
    // As NVML fills them: timestamp, type, return, value.
    buf.writeBigInt64LE(1795358823835984n, 8);
    buf.writeInt32LE(3, 24);
    buf.writeBigUInt64LE(123456789012n, 32);
    buf.writeInt32LE(3, 40 + 28); // NOT_SUPPORTED
    buf.writeInt32LE(1, 80 + 24);
    buf.writeUInt32LE(26562, 80 + 32);
    expect(decodeFieldValues(buf, 3)).toEqual([
      { fieldId: 197, scopeId: 0, timestampUs: 1795358823835984, ret: 0, value: 123456789012 },
      { fieldId: 138, scopeId: 0xffffffff, timestampUs: 0, ret: 3, value: null },
      { fieldId: 90, scopeId: 0, timestampUs: 0, ret: 0, value: 26562 },
    ]);
  });

  it('reads every nvmlValue_t type and refuses an unknown one', () => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(12.5);
    expect(readValue(b, 0, 0)).toBe(12.5);
    b.writeBigInt64LE(-5n);
    expect(readValue(b, 0, 4)).toBe(-5);
    b.writeInt32LE(-7);
    expect(readValue(b, 0, 5)).toBe(-7);
    b.writeUInt16LE(65535);
    expect(readValue(b, 0, 6)).toBe(65535);
    expect(readValue(b, 0, 9)).toBeNull();
  });

  it('reads nvmlSample_t, nvmlProcessInfo_t and nvmlProcessUtilizationSample_t arrays', () => {
    const s = Buffer.alloc(32);
    s.writeBigUInt64LE(1795358823835984n, 0);
    s.writeUInt32LE(88, 8);
    s.writeBigUInt64LE(1795358824035984n, 16);
    s.writeUInt32LE(100, 24);
    expect(decodeSamples(s, 2, 1)).toEqual([{ tsUs: 1795358823835984, value: 88 }, { tsUs: 1795358824035984, value: 100 }]);
    const p = Buffer.alloc(48);
    p.writeUInt32LE(1132, 0);
    p.writeBigUInt64LE(1766n * 1048576n, 8);
    p.writeUInt32LE(0xffffffff, 16);
    p.writeUInt32LE(77, 24);
    p.writeBigUInt64LE(0xffffffffffffffffn, 32); // NVML_VALUE_NOT_AVAILABLE
    expect(decodeProcessInfos(p, 2)).toEqual([{ pid: 1132, usedBytes: 1766 * 1048576 }, { pid: 77, usedBytes: null }]);
    const u = Buffer.alloc(32);
    u.writeUInt32LE(1132, 0);
    u.writeBigUInt64LE(1795358823835984n, 8);
    u.writeUInt32LE(97, 16);
    u.writeUInt32LE(31, 20);
    expect(decodeProcessUtil(u, 1)).toEqual([{ pid: 1132, tsUs: 1795358823835984, sm: 97, mem: 31 }]);
  });

  it('knows the per-link speed field of links 0-11 only', () => {
    expect([0, 5, 6, 11, 12].map(nvlinkSpeedField)).toEqual([84, 89, 132, 137, null]);
  });
});

describe('link capacity', () => {
  it('PCIe per direction from generation and width, absent where either is unknown', () => {
    expect(pcieCapacityMibps(5, 16)).toBe(60096.15); // 16 x 32 GT/s x 128/130
    expect(pcieCapacityMibps(4, 16)).toBe(30048.08);
    expect(pcieCapacityMibps(3, 8)).toBe(7512.02);
    expect(pcieCapacityMibps(1, 16)).toBe(3814.7); // 8b/10b
    expect(pcieCapacityMibps(6, 16)).toBe(115394.59); // FLIT mode, 242 of 256 bytes
    expect(pcieCapacityMibps(7, 16)).toBeNull();
    expect(pcieCapacityMibps(5, undefined)).toBeNull();
    expect(pcieCapacityMibps(undefined, 16)).toBeNull();
    expect(pcieCapacityMibps(5, 0)).toBeNull();
  });

  it('NVLink per direction from active links and NVML\'s per-link MBps; never 0', () => {
    // An H100/H200 SXM: 18 links of 26.5625 GB/s (NVML reports 26562 MBps per link).
    expect(nvlinkCapacityMibps(18, 26562)).toBe(455966.95);
    expect(nvlinkCapacityMibps(0, 26562)).toBeNull();
    expect(nvlinkCapacityMibps(18, null)).toBeNull();
    expect(nvlinkCapacityMibps(null, 26562)).toBeNull();
  });

  it('rates from byte counters, none across a reset', () => {
    expect(counterRateMibps(0, 1048576, 1, 1000)).toBe(1);
    expect(counterRateMibps(0, 1024, 1024, 100)).toBe(10);
    expect(counterRateMibps(10, 5, 1, 100)).toBeNull();
    expect(counterRateMibps(0, 5, 1, 0)).toBeNull();
  });
});

describe('pacing a costly reading within a CPU budget', () => {
  it('widens the window until the cost fits, between the floor and the ceiling', () => {
    // 1.6 ms a get, 0.35 % of a core, 100 ms ticks: 0.35 ms a tick -> every 5 ticks.
    expect(everyTicks(1.6, 100, 0.0035, 100, 1000)).toBe(5);
    expect(everyTicks(0.35, 100, 0.0035, 100, 1000)).toBe(1);
    expect(everyTicks(0.36, 100, 0.0035, 100, 1000)).toBe(2);
    expect(everyTicks(20, 100, 0.0035, 100, 1000)).toBe(10); // capped at one-second windows
    expect(everyTicks(0.01, 20, 0.0035, 100, 1000)).toBe(5); // never under NVML's 100 ms
    expect(everyTicks(null, 100, 0.0035, 100, 1000)).toBe(1);
  });

  it('is due on its first tick, then every() ticks; begin() starts a window', () => {
    const p = new CostPacer(100, 0.0035, 100, 1000, 1.6);
    expect([1, 2, 3, 4, 5, 6].map(() => p.tick())).toEqual([true, false, false, false, false, true]);
    p.begin();
    expect([1, 2, 3, 4, 5].map(() => p.tick())).toEqual([false, false, false, false, true]);
    p.record(0.1);
    expect(p.cost()).toBeCloseTo(1.3);
  });
});

describe('GPM gets planned from their cost', () => {
  const ids = [1, 2, 3, 5, 10, 20, 21, 60, 61];

  it('separates a fixed cost per get from a cost per metric', () => {
    const single = new Map(ids.map((id) => [id, 1.5 + (id >= 60 ? 0.3 : 0.01)]));
    const cal = calibrate(single, 1.5 + 7 * 0.01 + 2 * 0.3);
    expect(cal.fixedMs).toBeCloseTo(1.5);
    expect(cal.perMetricMs.get(60)).toBeCloseTo(0.3);
    expect(cal.perMetricMs.get(2)).toBeCloseTo(0.01);
  });

  it('one get every tick when all fit', () => {
    const cal = { fixedMs: 0.05, perMetricMs: new Map(ids.map((id) => [id, 0.01])) };
    expect(planGpm(ids, cal, 100, 0.0035)).toEqual([{ ids: [2, 5, 10, 61, 60, 20, 21, 1, 3], budgetShare: 0.0035, seedMs: expect.closeTo(0.14) }]);
  });

  it('one get at a wider window when a get\'s fixed cost alone is over the budget', () => {
    const cal = { fixedMs: 1.5, perMetricMs: new Map(ids.map((id) => [id, 0.01])) };
    const plan = planGpm(ids, cal, 100, 0.0035);
    expect(plan).toHaveLength(1);
    expect(plan[0]?.seedMs).toBeCloseTo(1.59);
  });

  it('SM, tensor and DRAM every tick and the costly link metrics apart when the cost is per metric', () => {
    const cal = { fixedMs: 0.02, perMetricMs: new Map(ids.map((id) => [id, id >= 20 ? 0.4 : 0.03])) };
    const plan = planGpm(ids, cal, 100, 0.0035);
    expect(plan.map((g) => g.ids)).toEqual([[2, 5, 10], [61, 60, 20, 21, 1, 3]]);
    expect(plan[0]?.budgetShare).toBeCloseTo(0.0011);
    expect(plan[1]?.budgetShare).toBeCloseTo(0.0024);
    // The boundary: the fast get takes at most 60 % of the budget (0.21 ms here).
    const edge = { fixedMs: 0.0, perMetricMs: new Map(ids.map((id) => [id, id === 10 ? 0.15 : id < 20 ? 0.03 : 0.4])) };
    expect(planGpm(ids, edge, 100, 0.0035)[0]?.ids).toEqual([2, 5, 10]);
    const over = { fixedMs: 0.0, perMetricMs: new Map(ids.map((id) => [id, id === 10 ? 0.1501 : id < 20 ? 0.03 : 0.4])) };
    expect(planGpm(ids, over, 100, 0.0035)[0]?.ids).toEqual([2, 5]);
  });

  it('without a calibration, one get of everything', () => {
    expect(planGpm(ids, null, 100, 0.0035)).toEqual([{ ids: [2, 5, 10, 61, 60, 20, 21, 1, 3], budgetShare: 0.0035, seedMs: null }]);
  });
});

describe('utilization windows from nvmlDeviceGetSamples', () => {
  const now = 1_795_358_824_000;
  it('gives each reading the period since the one before, skipping what was already seen', () => {
    const r = utilWindows((now - 600) * 1000, [{ tsUs: (now - 200) * 1000, value: 88 }, { tsUs: (now - 400) * 1000, value: 0 }, { tsUs: (now - 600) * 1000, value: 5 }, { tsUs: now * 1000, value: 100 }], now);
    expect(r).toEqual({ windows: [{ t: now - 400, durMs: 200, pct: 0 }, { t: now - 200, durMs: 200, pct: 88 }, { t: now, durMs: 200, pct: 100 }], lastUs: now * 1000 });
  });

  it('has no window for the first reading or one after a gap of over 2 s', () => {
    expect(utilWindows(0, [{ tsUs: now * 1000, value: 50 }], now)).toEqual({ windows: [], lastUs: now * 1000 });
    expect(utilWindows((now - 2001) * 1000, [{ tsUs: now * 1000, value: 50 }], now)).toEqual({ windows: [], lastUs: now * 1000 });
    expect(utilWindows((now - 2000) * 1000, [{ tsUs: now * 1000, value: 50 }], now)).toMatchObject({ windows: [{ durMs: 2000 }] });
  });

  it('says why readings cannot be windows: not this host\'s clock, or not a percentage', () => {
    expect(utilWindows(0, [{ tsUs: 5_000_000, value: 50 }], now)).toMatchObject({ problem: expect.stringMatching(/not this host's clock/) });
    expect(utilWindows(0, [{ tsUs: now * 1000, value: 101 }], now)).toMatchObject({ problem: expect.stringMatching(/not a percentage/) });
    expect(utilWindows(0, [{ tsUs: now * 1000, value: null }], now)).toMatchObject({ problem: expect.stringMatching(/not a percentage/) });
  });
});
