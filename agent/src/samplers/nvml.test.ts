import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Sample } from '@stagewatch/shared';
import { fixture } from '../../../test/helpers/fixtures.js';
import { nvmlReplay } from '../../../test/helpers/nvml-replay.js';
import { NVML_ERROR_NOT_SUPPORTED } from '../nvml/bindings.js';
import { NvmlSampler, nvmlDevices } from './nvml.js';

const running: NvmlSampler[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-22T14:47:00Z') });
});
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  vi.useRealTimers();
});

function start(api: ReturnType<typeof nvmlReplay>, intervalMs = 100): { sampler: NvmlSampler; out: Sample[]; logs: string[] } {
  const out: Sample[] = [];
  const logs: string[] = [];
  const sampler = new NvmlSampler({ host: 'h', log: (m) => logs.push(m) }, api, nvmlDevices(api), intervalMs, api.cpuMs);
  running.push(sampler);
  sampler.start((s) => out.push(s));
  return { sampler, out, logs };
}

const byKey = (out: Sample[], key: string): Sample[] => out.filter((s) => key in s.m);

describe('NVML sampler', () => {
  it('enumerates GPUs with name, uuid, memory, MIG mode and GPM support', () => {
    expect(nvmlDevices(nvmlReplay()).map(({ handle: _h, ...d }) => d)).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba', memTotalMib: 81559, gpm: true, migMode: 'Disabled' },
    ]);
  });

  it('reports the nvidia-smi path\'s metric names: memory each tick, power, clocks and the rest each second, each over what it covers', () => {
    const api = nvmlReplay();
    const { sampler, out, logs } = start(api);
    vi.advanceTimersByTime(1450);
    const ticks = byKey(out, 'mem_used_mib');
    const seconds = byKey(out, 'power_w');
    const first = JSON.parse(fixture('nvml-100hz.jsonl').split('\n')[0] as string) as { used_mb: number; power_mw: number };
    expect(ticks.map((s) => s.dur_ms)).toEqual(Array(15).fill(100));
    expect(ticks[0]?.m).toEqual({ mem_used_mib: first.used_mb - 480 });
    expect(seconds.map((s) => s.dur_ms)).toEqual([1000, 1000]);
    expect(seconds[0]?.m).toEqual({
      mem_total_mib: 81559, mem_reserved_mib: 480,
      power_w: Math.round(first.power_mw / 10) / 100, power_limit_w: 700, temp_c: 45, sm_clock_mhz: 1980, mem_clock_mhz: 2619,
      sm_clock_max_mhz: 1980, pstate: 0, mig_enabled: 0, pcie_link_gen: 5, pcie_link_width: 16,
      // Gen 5 x16: 16 lanes of 32 GT/s at 128b/130b.
      pcie_capacity_mibps: 60096.15,
    });
    const h = sampler.health(Date.now());
    expect(h.absent.fan_pct).toEqual({ '[Not Supported]': 2 });
    // The replayed H100 has no NVLink in use: links and capacity absent with the reason, never 0.
    expect(h.absent.nvlink_active_links).toEqual({ '[Not Supported]': 2 });
    expect(h.absent.nvlink_capacity_mibps).toEqual({ '[Not Supported]': 2 });
    expect(out.some((s) => 'nvlink_capacity_mibps' in s.m || 'nvlink_active_links' in s.m)).toBe(false);
    expect(logs.filter((l) => !l.includes('GPM:'))).toEqual([]);
    // Memory (and once at enumeration) each tick; power and the rest once a second; limits every 10 s.
    expect([api.calls.memory, api.calls.power, api.calls.temperature, api.calls.pstate, api.calls.powerLimit]).toEqual([16, 2, 2, 2, 1]);
  });

  it('stamps utilization with NVML\'s own sample periods, not the tick', () => {
    const api = nvmlReplay();
    const { out } = start(api);
    // Into denoise: the capture's utilization goes 0 -> 88 -> 100 around 44.5 s.
    vi.advanceTimersByTime(46_000);
    const util = byKey(out, 'util_pct');
    expect(util.length).toBeGreaterThan(200);
    expect(util.every((s) => s.dur_ms === 200 && (s.t - Date.parse('2026-11-22T14:47:00Z')) % 200 === 0)).toBe(true);
    expect(util.map((s) => s.m.util_pct)).toContain(88);
    expect(util.at(-1)?.m).toMatchObject({ util_pct: 100 });
    // Utilization is in no other reading when NVML gave it its own window.
    expect(out.some((s) => 'util_pct' in s.m && Object.keys(s.m).some((k) => k !== 'util_pct' && k !== 'mem_util_pct'))).toBe(false);
    // The driver buffers its samples: they are fetched once a second (UTIL_READ_MS), each fetch
    // bringing the ~5 periods that ended since, and nvmlDeviceGetUtilizationRates (for memory
    // utilization) is asked once per fetch that brought any.
    expect(api.calls.samples).toBeGreaterThanOrEqual(46);
    expect(api.calls.samples).toBeLessThanOrEqual(48);
    expect(api.calls.utilization).toBeLessThanOrEqual(api.calls.samples as number);
    expect(api.calls.utilization).toBeGreaterThanOrEqual(45);
  });

  it('falls back to utilization as read each tick where NVML gives no sample times, saying so once', () => {
    const { out, logs } = start(nvmlReplay({ samples: false }));
    vi.advanceTimersByTime(1000);
    const query = byKey(out, 'mem_used_mib');
    expect(query.every((s) => 'util_pct' in s.m && 'mem_util_pct' in s.m && s.dur_ms === 100)).toBe(true);
    expect(logs.filter((l) => l.includes('utilization samples unusable'))).toHaveLength(1);
  });

  it('reads GPM as often as its cost allows: 1.6 ms a get within 0.35 % of a core gives 500 ms windows, stamped at their end', () => {
    const api = nvmlReplay();
    const { out, logs } = start(api);
    vi.advanceTimersByTime(3050);
    const gpm = byKey(out, 'sm_active_pct');
    // First window from the calibration (ticks 0-1), then one every 5 ticks.
    expect(gpm.map((s) => s.dur_ms)).toEqual([100, 500, 500, 500, 500, 500]);
    const t0 = Date.parse('2026-11-22T14:47:00Z');
    expect(gpm.map((s) => s.t - t0)).toEqual([100, 600, 1100, 1600, 2100, 2600]);
    expect(gpm[1]?.m).toEqual({ gr_active_pct: 100, sm_active_pct: 86, sm_occupancy_pct: 46, tensor_active_pct: 34, dram_active_pct: 30, pcie_tx_mibps: 12.5, pcie_rx_mibps: 3 });
    expect(logs.find((l) => l.includes('GPM:'))).toMatch(/nvmlGpmMetricsGet 1\.60 ms for 9 metrics \(1\.60 ms a get \+ 0\.000 ms a metric\); \[2,5,10,61,60,20,21,1,3\] every 500 ms/);
  });

  it('does not ask again for what the GPU does not support', () => {
    const api = nvmlReplay();
    let fanCalls = 0;
    api.call.fan = () => (fanCalls++, NVML_ERROR_NOT_SUPPORTED);
    const { sampler } = start(api, 50);
    vi.advanceTimersByTime(3000);
    expect(fanCalls).toBe(1);
    // Asked once, reported absent at every once-a-second reading (0, 1, 2 and 3 s).
    expect(sampler.health(Date.now()).absent.fan_pct?.['[Not Supported]']).toBe(4);
  });
});

describe('NVML sampler on a GPU without GPM', () => {
  it('reads PCIe rates from the byte counters over each tick, and never SM activity', () => {
    const { out } = start(nvmlReplay({ gpm: false }));
    vi.advanceTimersByTime(1050);
    const query = byKey(out, 'mem_used_mib');
    const xml = fixture('q-under-load.xml');
    const kbps = (t: string): number => Number(new RegExp(`<${t}>(\\d+) KB/s`).exec(xml)?.[1]);
    // The counters advance at the captured PCIe throughput; rates come out in MiB/s over the tick.
    expect(query.at(-1)?.m.pcie_tx_mibps).toBeCloseTo(kbps('tx_util') / 1024, 0);
    expect(query.at(-1)?.m.pcie_rx_mibps).toBeCloseTo(kbps('rx_util') / 1024, 0);
    expect(out.some((s) => 'sm_active_pct' in s.m || 'tensor_active_pct' in s.m)).toBe(false);
  });

  it('falls back to nvmlDeviceGetPcieThroughput off the event loop, once a second, each reading 20 ms long', () => {
    const api = nvmlReplay({ gpm: false, fieldCounters: false });
    const { out } = start(api);
    vi.advanceTimersByTime(2100);
    const tx = byKey(out, 'pcie_tx_mibps');
    const rx = byKey(out, 'pcie_rx_mibps');
    expect(tx.length).toBeGreaterThanOrEqual(2);
    expect(tx.every((s) => s.dur_ms === 20 && Object.keys(s.m).length === 1)).toBe(true);
    expect(rx[0]?.t).toBeGreaterThan(tx[0]?.t as number);
    expect(api.calls.pcieThroughput).toBe(2 * tx.length);
  });
});
