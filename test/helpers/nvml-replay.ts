import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NVML_ERROR_INSUFFICIENT_SIZE, NVML_ERROR_NOT_FOUND, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, type NvmlApi } from '../../agent/src/nvml/bindings.js';
import { FIXTURES, fixture } from './fixtures.js';
import { PROCESS_UTIL_BYTES } from '../../agent/src/nvml/decode.js';

/**
 * NVML as koffi hands it to the agent (out-arrays, structs filled in place, Buffers for arrays of
 * structs laid out as nvml.h declares them), replaying real H100 readings on the test's clock:
 * - utilization, memory and power: nvml-100hz.jsonl (pynvml every 10 ms), looked up by the time
 *   since the replay started; nvmlDeviceGetSamples gives the same utilization on the 200 ms grid
 *   on which that capture's values changed (NVML's sample period on this H100);
 * - clocks, temperature, power limit, PCIe generation/width, PCIe throughput (KB/s) and the one
 *   running process with its memory: q-under-load.xml (`nvidia-smi -q -x` during the run);
 * - GPM: a dmon-gpm.txt row of vae_decode (graphics 100, SM 86, occupancy 46, tensor 34, DRAM 30)
 *   and its PCIe figures, NVLink not supported (as on that single-GPU VM);
 * - what each call costs: nvml-calls.json (nvmlGpmMetricsGet 1.6 ms), added to `cpuMs`, the clock
 *   the agent's pacers read.
 * The real library is exercised by test/gpu/nvml-check.mjs on a GPU machine.
 */
export interface NvmlReplay extends NvmlApi {
  /** The pacers' clock: advanced by what each replayed call cost on the H100. */
  cpuMs: () => number;
  calls: Record<string, number>;
  /** pid the replayed running process (1132 in the capture) is reported as. */
  processPid: number;
}

const MIB = 1024 * 1024;
const UTIL_PERIOD_MS = 200;
const costs = JSON.parse(readFileSync(path.join(FIXTURES, '..', '..', 'docs', 'gpu-run-h100', 'nvml-calls.json'), 'utf8')) as Record<string, { cpuUs: number }>;
const cost = (name: string): number => (costs[name]?.cpuUs ?? 1) / 1000;
const xml = fixture('q-under-load.xml');
const tag = (name: string): number => Number(new RegExp(`<${name}>(\\d+)`).exec(xml)?.[1]);

export function nvmlReplay(opts: { gpm?: boolean; samples?: boolean; fieldCounters?: boolean; processPid?: number } = {}): NvmlReplay {
  const rows = fixture('nvml-100hz.jsonl').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((r) => 'power_mw' in r);
  const t0 = (rows[0] as { t_ns: number }).t_ns;
  const start = Date.now();
  const rowAt = (ms: number): Record<string, number> => {
    const want = t0 + Math.max(0, ms - start) * 1e6;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((rows[mid] as { t_ns: number }).t_ns <= want) lo = mid;
      else hi = mid - 1;
    }
    return rows[lo % rows.length] as Record<string, number>;
  };
  let cpu = 0;
  const calls: Record<string, number> = {};
  const counted = (name: string, costName: string, f: (...a: unknown[]) => unknown) => (...a: unknown[]): unknown => {
    calls[name] = (calls[name] ?? 0) + 1;
    cpu += cost(costName);
    return f(...a);
  };
  const out = (v: number) => (o: unknown) => (((o as unknown[])[0] = v), NVML_SUCCESS);
  const pcieKBps = { tx: Number(/<tx_util>(\d+) KB\/s/.exec(xml)?.[1]), rx: Number(/<rx_util>(\d+) KB\/s/.exec(xml)?.[1]) };
  const pid = opts.processPid ?? 1132;
  const usedMib = Number(/<used_memory>(\d+) MiB/.exec(xml)?.[1]);
  const call: NvmlApi['call'] = {
    count: (o) => out(1)(o),
    handle: (_i, o) => (((o as unknown[])[0] = { gpu: 0 }), NVML_SUCCESS),
    name: (_h, b) => ((b as Buffer).write('NVIDIA H100 80GB HBM3\0'), NVML_SUCCESS),
    uuid: (_h, b) => ((b as Buffer).write('GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba\0'), NVML_SUCCESS),
    utilization: counted('utilization', 'utilization', (_h, u) => (Object.assign(u as object, { gpu: rowAt(Date.now()).gpu, memory: rowAt(Date.now()).mem }), NVML_SUCCESS)),
    // The capture read v1 (used includes the 480 MiB the driver reserves); v2 reports them apart.
    memory: counted('memory', 'memory_v2', (_h, m) => (Object.assign(m as object, { total: 81559 * MIB, reserved: 480 * MIB, used: ((rowAt(Date.now()).used_mb as number) - 480) * MIB, free: 0 }), NVML_SUCCESS)),
    power: counted('power', 'power', (_h, o) => out(rowAt(Date.now()).power_mw as number)(o)),
    powerLimit: counted('powerLimit', 'powerLimit', (_h, o) => out(tag('current_power_limit') * 1000 || 700_000)(o)),
    temperature: counted('temperature', 'temperature', (_h, _s, o) => out(tag('gpu_temp'))(o)),
    clock: counted('clock', 'clockSm', (_h, type, o) => out(type === 1 ? tag('sm_clock') : tag('mem_clock'))(o)),
    maxClock: counted('maxClock', 'maxClock', (_h, _t, o) => out(1980)(o)),
    pstate: counted('pstate', 'pstate', (_h, o) => out(0)(o)),
    pcieGen: counted('pcieGen', 'pcieGen', (_h, o) => out(tag('current_link_gen'))(o)),
    pcieWidth: counted('pcieWidth', 'pcieWidth', (_h, o) => out(Number(/<current_link_width>(\d+)x/.exec(xml)?.[1]))(o)),
    fan: counted('fan', 'fan', () => NVML_ERROR_NOT_SUPPORTED),
    migMode: (_h, c, p) => (((c as number[])[0] = 0), ((p as number[])[0] = 0), NVML_SUCCESS),
    gpmSupport: (_h, s) => (Object.assign(s as object, { isSupportedDevice: opts.gpm === false ? 0 : 1 }), NVML_SUCCESS),
    gpmAlloc: (o) => (((o as unknown[])[0] = {}), NVML_SUCCESS),
    gpmFree: () => NVML_SUCCESS,
    gpmGet: counted('gpmGet', 'gpmSampleGet', () => NVML_SUCCESS),
    gpmMetrics: counted('gpmMetrics', 'gpmMetricsGet', (req) => {
      const r = req as { numMetrics: number; metrics: Array<{ metricId: number; nvmlReturn: number; value: number }> };
      const values: Record<number, number> = { 1: 100, 2: 86, 3: 46, 5: 34, 10: 30, 20: 12.5, 21: 3 };
      for (const m of r.metrics.slice(0, r.numMetrics)) {
        if (m.metricId in values) m.value = values[m.metricId] as number;
        else m.nvmlReturn = NVML_ERROR_NOT_SUPPORTED; // NVLink on a GPU whose links are not in use
      }
      return NVML_SUCCESS;
    }),
    nvLinkState: counted('nvLinkState', 'pcieGen', () => NVML_ERROR_NOT_SUPPORTED),
    samples: counted('samples', 'utilization', (_h, type, lastSeen, valType, count, buf) => {
      if (opts.samples === false || type !== 1) return NVML_ERROR_NOT_SUPPORTED;
      (valType as number[])[0] = 1; // unsigned int
      const now = Date.now();
      const from = Math.max(Number(lastSeen) / 1000, now - 20 * UTIL_PERIOD_MS);
      const ends: number[] = [];
      for (let t = start + Math.ceil((from - start + 1) / UTIL_PERIOD_MS) * UTIL_PERIOD_MS; t <= now; t += UTIL_PERIOD_MS) ends.push(t);
      if (ends.length === 0) return NVML_ERROR_NOT_FOUND;
      const cap = (count as number[])[0] as number;
      const b = buf as Buffer;
      ends.slice(-cap).forEach((t, i) => {
        b.writeBigUInt64LE(BigInt(t * 1000), i * 16);
        // NVML's reading for a period is what a reader saw right after it ended.
        b.writeUInt32LE(rowAt(t + 10).gpu as number, i * 16 + 8);
      });
      (count as number[])[0] = Math.min(cap, ends.length);
      return NVML_SUCCESS;
    }),
    fieldValues: counted('fieldValues', 'power', (_h, n, buf) => {
      const b = buf as Buffer;
      for (let i = 0; i < (n as number); i++) {
        const o = i * 40;
        const id = b.readUInt32LE(o);
        const kbps = id === 197 ? pcieKBps.tx : id === 198 ? pcieKBps.rx : null;
        if (kbps === null || opts.fieldCounters === false) {
          b.writeInt32LE(NVML_ERROR_NOT_SUPPORTED, o + 28);
          continue;
        }
        b.writeInt32LE(NVML_SUCCESS, o + 28);
        b.writeInt32LE(3, o + 24); // unsigned long long
        b.writeBigUInt64LE(BigInt(Math.round(((Date.now() - start) / 1000) * kbps * 1024)), o + 32);
      }
      return NVML_SUCCESS;
    }),
    pcieThroughput: Object.assign(counted('pcieThroughput', 'utilization', (_h, c, o) => out(c === 0 ? pcieKBps.tx : pcieKBps.rx)(o)), {
      async: (h: unknown, c: unknown, o: unknown, cb: (err: unknown, rc: unknown) => void) => setTimeout(() => cb(null, call.pcieThroughput?.(h, c, o)), 20),
    }),
    computeProcs: counted('computeProcs', 'utilization', (_h, count, buf) => {
      const c = count as number[];
      if ((c[0] as number) < 1) return ((c[0] = 1), NVML_ERROR_INSUFFICIENT_SIZE);
      const b = buf as Buffer;
      b.writeUInt32LE(pid, 0);
      b.writeBigUInt64LE(BigInt(usedMib * MIB), 8);
      c[0] = 1;
      return NVML_SUCCESS;
    }),
    processUtil: counted('processUtil', 'utilization', (_h, buf, count, lastSeen) => {
      const now = Date.now();
      const end = start + Math.floor((now - start) / UTIL_PERIOD_MS) * UTIL_PERIOD_MS;
      if (end * 1000 <= Number(lastSeen) || end <= start) return NVML_ERROR_NOT_FOUND;
      // One reading a period since lastSeen, as NVML keeps them (and as the C stand-in answers).
      const ends: number[] = [];
      for (let t = end; t > start && t * 1000 > Number(lastSeen); t -= UTIL_PERIOD_MS) ends.unshift(t);
      const c = count as number[];
      if ((c[0] as number) < ends.length) return ((c[0] = ends.length), NVML_ERROR_INSUFFICIENT_SIZE);
      const b = buf as Buffer;
      ends.forEach((t, i) => {
        b.writeUInt32LE(pid, i * PROCESS_UTIL_BYTES);
        b.writeBigUInt64LE(BigInt(t * 1000), i * PROCESS_UTIL_BYTES + 8);
        b.writeUInt32LE(rowAt(t + 10).gpu as number, i * PROCESS_UTIL_BYTES + 16);
      });
      c[0] = ends.length;
      return NVML_SUCCESS;
    }),
  };
  return {
    koffi: {} as NvmlApi['koffi'],
    version: '580.159.04',
    call,
    types: { device: null, gpmSample: null },
    // The capture has no GPM sample times: windows are stamped at the calls unless a test sets refreshUs.
    gpmSampleTimeUs: (s) => (s as { refreshUs?: number }).refreshUs ?? null,
    errorString: (c) => (c === NVML_ERROR_NOT_SUPPORTED ? 'Not Supported' : c === NVML_ERROR_NOT_FOUND ? 'Not Found' : `error ${c}`),
    cpuMs: () => cpu,
    calls,
    processPid: pid,
  };
}
