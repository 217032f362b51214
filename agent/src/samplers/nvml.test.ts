import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Sample } from '@stagewatch/shared';
import { fixture } from '../../../test/helpers/fixtures.js';
import { NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, type NvmlApi } from '../nvml/bindings.js';
import { NvmlSampler, nvmlDevices } from './nvml.js';

/**
 * An NVML double with the C calling conventions koffi gives the sampler (out-arrays, structs
 * filled in place), replaying the capture's own NVML readings (nvml-100hz.jsonl: utilization,
 * memory, power read with pynvml at 100 Hz on the H100). The real library is exercised on a
 * GPU machine (docs/PERFORMANCE.md).
 */
function replayNvml(): NvmlApi & { row: () => Record<string, number> } {
  const rows = fixture('nvml-100hz.jsonl').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((r) => 'power_mw' in r);
  let i = 0;
  const row = (): Record<string, number> => rows[i % rows.length] as Record<string, number>;
  const MIB = 1024 * 1024;
  const out = (v: number) => (o: unknown[]) => ((o[0] = v), NVML_SUCCESS);
  const call: NvmlApi['call'] = {
    count: (o) => (((o as number[])[0] = 1), NVML_SUCCESS),
    handle: (_i, o) => (((o as unknown[])[0] = { gpu: 0 }), NVML_SUCCESS),
    name: (_h, b) => ((b as Buffer).write('NVIDIA H100 80GB HBM3\0'), NVML_SUCCESS),
    uuid: (_h, b) => ((b as Buffer).write('GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba\0'), NVML_SUCCESS),
    utilization: (_h, u) => (Object.assign(u as object, { gpu: row().gpu, memory: row().mem }), i++, NVML_SUCCESS),
    // The capture read v1 (used includes the 480 MiB the driver reserves); v2 reports them apart.
    memory: (_h, m) => (Object.assign(m as object, { total: 81559 * MIB, reserved: 480 * MIB, used: ((row().used_mb as number) - 480) * MIB, free: 0 }), NVML_SUCCESS),
    power: (_h, o) => out(row().power_mw as number)(o as unknown[]),
    powerLimit: (_h, o) => out(700_000)(o as unknown[]),
    temperature: (_h, _s, o) => out(44)(o as unknown[]),
    clock: (_h, type, o) => out(type === 1 ? 1980 : 2619)(o as unknown[]),
    maxClock: (_h, _t, o) => out(1980)(o as unknown[]),
    pstate: (_h, o) => out(0)(o as unknown[]),
    fan: () => NVML_ERROR_NOT_SUPPORTED,
    migMode: (_h, c, p) => (((c as number[])[0] = 0), ((p as number[])[0] = 0), NVML_SUCCESS),
    gpmSupport: (_h, s) => (Object.assign(s as object, { isSupportedDevice: 1 }), NVML_SUCCESS),
    gpmAlloc: (o) => (((o as unknown[])[0] = {}), NVML_SUCCESS),
    gpmFree: () => NVML_SUCCESS,
    gpmGet: () => NVML_SUCCESS,
    gpmMetrics: (req) => {
      const r = req as { numMetrics: number; metrics: Array<{ metricId: number; nvmlReturn: number; value: number }> };
      const values: Record<number, number> = { 1: 100, 2: 86, 3: 46, 5: 34, 10: 30, 20: 12.5, 21: 3 };
      for (const m of r.metrics.slice(0, r.numMetrics)) {
        if (m.metricId in values) m.value = values[m.metricId] as number;
        else m.nvmlReturn = NVML_ERROR_NOT_SUPPORTED; // NVLink on a PCIe card
      }
      return NVML_SUCCESS;
    },
  };
  return { koffi: {} as NvmlApi['koffi'], version: '580.159.04', call, types: { device: null, gpmSample: null }, errorString: (c) => (c === NVML_ERROR_NOT_SUPPORTED ? 'Not Supported' : `error ${c}`), row };
}

const running: NvmlSampler[] = [];
// The replay answers at once, so the sampler's clock can be the fake one: time moves by the test.
beforeEach(() => void vi.useFakeTimers({ now: 1_700_000_000_000 }));
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  vi.useRealTimers();
});

describe('NVML sampler', () => {
  it('enumerates GPUs with name, uuid, memory, MIG mode and GPM support', () => {
    expect(nvmlDevices(replayNvml()).map(({ handle: _h, ...d }) => d)).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba', memTotalMib: 81559, gpm: true, migMode: 'Disabled' },
    ]);
  });

  it('reports the same metric names and units as the nvidia-smi path, absent where unsupported', async () => {
    const api = replayNvml();
    const logs: string[] = [];
    const out: Sample[] = [];
    const sampler = new NvmlSampler({ host: 'h', log: (m) => logs.push(m) }, api, nvmlDevices(api), 100);
    running.push(sampler);
    sampler.start((s) => out.push(s));
    vi.advanceTimersByTime(450);
    const query = out.filter((s) => 'util_pct' in s.m);
    expect(query).toHaveLength(5);
    const first = JSON.parse(fixture('nvml-100hz.jsonl').split('\n')[0] as string) as { gpu: number; mem: number; used_mb: number; power_mw: number };
    expect(query[0]?.m).toEqual({
      util_pct: first.gpu, mem_util_pct: first.mem, mem_used_mib: first.used_mb - 480, mem_total_mib: 81559, mem_reserved_mib: 480,
      power_w: Math.round(first.power_mw / 10) / 100, power_limit_w: 700, temp_c: 44, sm_clock_mhz: 1980, mem_clock_mhz: 2619,
      sm_clock_max_mhz: 1980, pstate: 0, mig_enabled: 0,
    });
    const h = sampler.health(Date.now());
    expect(h.absent.fan_pct).toEqual({ '[Not Supported]': query.length });
    expect(logs).toEqual([]);
  });

  it('computes GPM once a second between two GPM samples, stamped at the middle of the interval', async () => {
    const api = replayNvml();
    const calls: string[] = [];
    const gpmGet = api.call.gpmGet as (...a: unknown[]) => unknown;
    api.call.gpmGet = (...a) => (calls.push('gpm'), gpmGet(...a));
    const out: Sample[] = [];
    const sampler = new NvmlSampler({ host: 'h', log: () => {} }, api, nvmlDevices(api), 100);
    running.push(sampler);
    sampler.start((s) => out.push(s));
    vi.advanceTimersByTime(2250);
    const gpm = out.filter((s) => 'sm_active_pct' in s.m);
    const query = out.filter((s) => 'util_pct' in s.m);
    // 100 ms apart over 2.25 s: at 0, 100, ..., 2200 ms.
    expect(query).toHaveLength(23);
    // GPM samples at 0, ~1 s and ~2 s: two intervals measured.
    expect(calls).toHaveLength(3);
    expect(gpm).toHaveLength(2);
    expect(gpm[0]?.m).toEqual({ gr_active_pct: 100, sm_active_pct: 86, sm_occupancy_pct: 46, tensor_active_pct: 34, dram_active_pct: 30, pcie_tx_mibps: 12.5, pcie_rx_mibps: 3 });
    // NVLink on a PCIe card: absent with its reason, never 0.
    expect(sampler.health(Date.now()).absent.nvlink_rx_mibps).toEqual({ '[Not Supported]': 2 });
    const [q0] = query as [Sample];
    const second = query.find((q) => q.t - q0.t >= 1000) as Sample;
    expect(gpm[0]?.t).toBe(Math.round((q0.t + second.t) / 2));
  });

  it('does not ask again for what the GPU does not support', async () => {
    const api = replayNvml();
    let fanCalls = 0;
    api.call.fan = () => (fanCalls++, NVML_ERROR_NOT_SUPPORTED);
    const sampler = new NvmlSampler({ host: 'h', log: () => {} }, api, nvmlDevices(api), 50);
    running.push(sampler);
    sampler.start(() => {});
    vi.advanceTimersByTime(300);
    expect(fanCalls).toBe(1);
    // Seven reads (at 0, 50, ..., 300 ms), one question.
    expect(sampler.health(Date.now()).absent.fan_pct?.['[Not Supported]']).toBe(7);
  });
});
