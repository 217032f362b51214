import type { GpuMetric } from '@stagewatch/shared';
import { CONSTANTS, GPM_SLOTS, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, type NvmlApi } from '../nvml/bindings.js';
import { GPM_COLUMNS } from '../nvidia-smi/dmon.js';
import { IntervalSampler } from './interval.js';
import type { Emit, SamplerContext } from './types.js';

const MIB = 1024 * 1024;
/**
 * Costs measured on an H100 (docs/gpu-run-h100/nvml-calls.json, CPU per call through koffi): most reads
 * take 1-12 µs, but nvmlGpmMetricsGet takes ~1.6 ms, nvmlDeviceGetMaxClockInfo ~1.4 ms,
 * nvmlDeviceGetPowerManagementLimit ~170 µs and an unsupported fan query ~150 µs. So GPM is
 * computed once a second at most (a one-second average, as dmon gives), values that hardly change
 * are re-read every SLOW_MS, and a query the GPU does not support is not asked again.
 */
export const GPM_EVERY_MS = 1000;
const SLOW_MS = 10_000;

export interface NvmlDevice {
  index: number;
  handle: unknown;
  name: string;
  uuid: string;
  memTotalMib: number | null;
  gpm: boolean;
  migMode: string | null;
}

type Reading = { ok: true; value: number } | { ok: false; reason: string };

/** Enumerates the GPUs NVML sees, with GPM support per GPU. */
export function nvmlDevices(api: NvmlApi): NvmlDevice[] {
  const c = api.call;
  const count = [0];
  if (Number(c.count?.(count)) !== NVML_SUCCESS) return [];
  const out: NvmlDevice[] = [];
  for (let index = 0; index < (count[0] as number); index++) {
    const h: unknown[] = [null];
    if (Number(c.handle?.(index, h)) !== NVML_SUCCESS) continue;
    const handle = h[0];
    const str = (fn: string): string => {
      const b = Buffer.alloc(96);
      return Number(c[fn]?.(handle, b, b.length)) === NVML_SUCCESS ? b.toString('utf8').replace(/\0.*$/s, '') : '';
    };
    const mem = { version: CONSTANTS.NVML_MEMORY_V2, total: 0, reserved: 0, free: 0, used: 0 };
    const support = { version: CONSTANTS.NVML_GPM_SUPPORT_VERSION, isSupportedDevice: 0 };
    const mig = [0];
    const pending = [0];
    out.push({
      index,
      handle,
      name: str('name'),
      uuid: str('uuid'),
      memTotalMib: Number(c.memory?.(handle, mem)) === NVML_SUCCESS ? Number(mem.total) / MIB : null,
      gpm: Number(c.gpmSupport?.(handle, support)) === NVML_SUCCESS && support.isSupportedDevice === 1,
      migMode: Number(c.migMode?.(handle, mig, pending)) === NVML_SUCCESS ? (mig[0] === 1 ? 'Enabled' : 'Disabled') : null,
    });
  }
  return out;
}

/**
 * GPU sampling through NVML directly: a few library calls per GPU per tick instead of a
 * nvidia-smi process, so 10-50 Hz costs little. Metric names and units match the nvidia-smi
 * path (memory.used is NVML's v2 `used`, which leaves out driver-reserved memory, as nvidia-smi
 * does). GPM metrics come from two samples GPM_EVERY_MS apart and are stamped at the middle of
 * that interval, which is when they happened.
 */
export class NvmlSampler extends IntervalSampler {
  readonly name = 'gpu.nvml';
  private readonly gpmState = new Map<number, { prev: unknown; cur: unknown; prevAt: number }>();
  /** (gpu, query) pairs the GPU answered Not Supported: their reason, reported without asking again. */
  private readonly unsupported = new Map<string, string>();
  private readonly slow = new Map<number, { at: number; m: Record<string, number>; absent: Record<string, string> }>();

  constructor(
    ctx: SamplerContext,
    private readonly api: NvmlApi,
    private readonly devices: readonly NvmlDevice[],
    intervalMs: number,
  ) {
    super(ctx, intervalMs);
  }

  override start(emit: Emit): void {
    for (const d of this.devices.filter((x) => x.gpm)) {
      const a: unknown[] = [null];
      const b: unknown[] = [null];
      if (Number(this.api.call.gpmAlloc?.(a)) === NVML_SUCCESS && Number(this.api.call.gpmAlloc?.(b)) === NVML_SUCCESS) {
        this.gpmState.set(d.index, { prev: a[0], cur: b[0], prevAt: 0 });
      }
    }
    super.start(emit);
  }

  protected override release(): void {
    for (const s of this.gpmState.values()) {
      this.api.call.gpmFree?.(s.prev);
      this.api.call.gpmFree?.(s.cur);
    }
    this.gpmState.clear();
  }

  private read(gpu: number, fn: string, ...args: unknown[]): Reading {
    const key = `${gpu}:${fn}:${args.slice(1).join(',')}`;
    const known = this.unsupported.get(key);
    if (known) return { ok: false, reason: known };
    const f = this.api.call[fn];
    if (!f) return { ok: false, reason: '[Not Supported]' };
    const out: unknown[] = [0];
    const rc = Number(f(...args, out));
    if (rc === NVML_SUCCESS) return { ok: true, value: Number(out[0]) };
    const reason = `[${this.api.errorString(rc)}]`;
    if (rc === NVML_ERROR_NOT_SUPPORTED) this.unsupported.set(key, reason);
    return { ok: false, reason };
  }

  /** Values that change rarely (limits, max clocks, link width), re-read every SLOW_MS. */
  private slowValues(d: NvmlDevice, now: number): { m: Record<string, number>; absent: Record<string, string> } {
    const cached = this.slow.get(d.index);
    if (cached && now - cached.at < SLOW_MS) return cached;
    const m: Record<string, number> = {};
    const absent: Record<string, string> = {};
    const put = (key: GpuMetric, r: Reading, scale = 1): void => {
      if (r.ok) m[key] = Math.round(r.value * scale * 100) / 100;
      else absent[key] = r.reason;
    };
    put('power_limit_w', this.read(d.index, 'powerLimit', d.handle), 1 / 1000);
    put('sm_clock_max_mhz', this.read(d.index, 'maxClock', d.handle, CONSTANTS.NVML_CLOCK_SM));
    put('pcie_link_gen', this.read(d.index, 'pcieGen', d.handle));
    put('pcie_link_width', this.read(d.index, 'pcieWidth', d.handle));
    const fresh = { at: now, m, absent };
    this.slow.set(d.index, fresh);
    return fresh;
  }

  protected sampleOnce(emit: Emit): void {
    const { NVML_TEMPERATURE_GPU, NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, NVML_MEMORY_V2 } = CONSTANTS;
    const i = (d: NvmlDevice): number => d.index;
    for (const d of this.devices) {
      const now = Date.now();
      const h = d.handle;
      const m: Record<string, number> = {};
      const absent: Record<string, string> = {};
      const put = (key: GpuMetric, r: Reading, scale = 1): void => {
        if (r.ok) m[key] = Math.round(r.value * scale * 100) / 100;
        else absent[key] = r.reason;
      };
      const util = { gpu: 0, memory: 0 };
      const urc = Number(this.api.call.utilization?.(h, util));
      put('util_pct', urc === NVML_SUCCESS ? { ok: true, value: util.gpu } : { ok: false, reason: `[${this.api.errorString(urc)}]` });
      put('mem_util_pct', urc === NVML_SUCCESS ? { ok: true, value: util.memory } : { ok: false, reason: `[${this.api.errorString(urc)}]` });
      const mem = { version: NVML_MEMORY_V2, total: 0, reserved: 0, free: 0, used: 0 };
      const mrc = Number(this.api.call.memory?.(h, mem));
      // Whole MiB, as nvidia-smi prints them (it rounds: 2924.6 MiB reads 2925 on an H100).
      const memReading = (v: unknown): Reading => (mrc === NVML_SUCCESS ? { ok: true, value: Math.round(Number(v) / MIB) } : { ok: false, reason: `[${this.api.errorString(mrc)}]` });
      put('mem_used_mib', memReading(mem.used));
      put('mem_total_mib', memReading(mem.total));
      put('mem_reserved_mib', memReading(mem.reserved));
      put('power_w', this.read(i(d), 'power', h), 1 / 1000);
      put('temp_c', this.read(i(d), 'temperature', h, NVML_TEMPERATURE_GPU));
      put('sm_clock_mhz', this.read(i(d), 'clock', h, NVML_CLOCK_SM));
      put('mem_clock_mhz', this.read(i(d), 'clock', h, NVML_CLOCK_MEM));
      put('clock_event_reasons', this.read(i(d), 'eventReasons', h));
      put('fan_pct', this.read(i(d), 'fan', h));
      put('pstate', this.read(i(d), 'pstate', h));
      put('ecc_uncorrected', this.read(i(d), 'ecc', h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC));
      const slow = this.slowValues(d, now);
      Object.assign(m, slow.m);
      Object.assign(absent, slow.absent);
      if (d.migMode !== null) m.mig_enabled = d.migMode === 'Enabled' ? 1 : 0;
      this.absent.add(absent);
      emit({ t: now, host: this.ctx.host, source: 'gpu', gpu: d.index, m });
      const gpm = this.gpm(d, now);
      if (gpm) emit({ t: gpm.t, host: this.ctx.host, source: 'gpu', gpu: d.index, m: gpm.m });
    }
    this.samples++;
  }

  private gpm(d: NvmlDevice, now: number): { t: number; m: Record<string, number> } | null {
    const st = this.gpmState.get(d.index);
    if (!st || now - st.prevAt < GPM_EVERY_MS) return null;
    if (Number(this.api.call.gpmGet?.(d.handle, st.cur)) !== NVML_SUCCESS) return null;
    let result: { t: number; m: Record<string, number> } | null = null;
    if (st.prevAt > 0) {
      const ids = GPM_COLUMNS.slice(0, GPM_SLOTS);
      const req = {
        version: CONSTANTS.NVML_GPM_METRICS_GET_VERSION,
        numMetrics: ids.length,
        sample1: st.prev,
        sample2: st.cur,
        metrics: Array.from({ length: GPM_SLOTS }, (_, i) => ({ metricId: ids[i]?.id ?? 0, nvmlReturn: 0, value: 0, shortName: null, longName: null, unit: null })),
      };
      if (Number(this.api.call.gpmMetrics?.(req)) === NVML_SUCCESS) {
        const m: Record<string, number> = {};
        const absent: Record<string, string> = {};
        ids.forEach((c, i) => {
          const r = req.metrics[i] as { nvmlReturn: number; value: number };
          if (r.nvmlReturn === NVML_SUCCESS && Number.isFinite(r.value)) m[c.metric] = Math.round(r.value * 100) / 100;
          else absent[c.metric] = `[${this.api.errorString(r.nvmlReturn)}]`;
        });
        this.absent.add(absent);
        result = { t: Math.round((st.prevAt + now) / 2), m };
      }
    }
    // The sample just taken becomes the start of the next interval.
    [st.prev, st.cur] = [st.cur, st.prev];
    st.prevAt = now;
    return result;
  }
}
