import type { GpuMetric } from '@stagewatch/shared';
import { nvlinkCapacityMibps, pcieCapacityMibps } from '@stagewatch/shared';
import { CONSTANTS, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, type NvmlApi } from '../nvml/bindings.js';
import { NVML_PCIE_UTIL_RX_BYTES, NVML_PCIE_UTIL_TX_BYTES } from '../nvml/decode.js';
import type { NvmlDevice } from '../nvml/device.js';
import { GPM_COLUMNS } from '../nvidia-smi/dmon.js';
import { GpmReader } from '../nvml/gpm.js';
import { LinkCounters, readNvlink } from '../nvml/links.js';
import { UtilSamples } from '../nvml/util-samples.js';
import { IntervalSampler } from './interval.js';
import { CostPacer } from './pacer.js';
import type { Emit, SamplerContext, TimedSample } from './types.js';

export { nvmlDevices, type NvmlDevice } from '../nvml/device.js';

const MIB = 1024 * 1024;
/**
 * Costs measured on an H100 (docs/gpu-run-h100/nvml-calls.json, CPU per call through koffi): most
 * reads take 1-12 µs, but nvmlDeviceGetMaxClockInfo ~1.4 ms, nvmlDeviceGetPowerManagementLimit
 * ~170 µs and an unsupported fan query ~150 µs. Values that hardly change are re-read every
 * SLOW_MS, and a query the GPU does not support is not asked again. GPM's cost is paced in GpmReader.
 */
const SLOW_MS = 10_000;
/**
 * Power (NVML's one-second average on Ampere and newer), clocks, temperature, P-state and ECC move
 * over seconds, not ticks: they are read once a second into a sample of their own. Each NVML call
 * is an ioctl into the driver, a few µs hot and several times that between ticks; each tick then
 * asks for memory and utilization only.
 */
const MEDIUM_MS = 1000;
/** Link byte counters on GPUs without GPM may take this share of a core (their cost is driver-dependent). */
const LINK_BUDGET_SHARE = 0.001;
/** nvmlDeviceGetPcieThroughput measures 20 ms per call and blocks that long; run off the event loop, once a second at most. */
const PCIE_THROUGHPUT_EVERY_MS = 1000;
const PCIE_THROUGHPUT_WINDOW_MS = 20;

type Reading = { ok: true; value: number } | { ok: false; reason: string };
type AsyncFn = { async?: (...args: unknown[]) => void };

/** How often NVML's buffered utilization samples are fetched (they keep their own ~200 ms periods). */
export const UTIL_READ_MS = 1000;

interface PerGpu {
  util: UtilSamples;
  gpm: GpmReader | null;
  links: LinkCounters | null;
  linkPacer: CostPacer;
  prevAt: number;
  /** When the once-a-second reading was last taken. */
  secondAt: number;
  utilProblemSaid: boolean;
  /** When nvmlDeviceGetSamples was last asked. */
  utilAt: number;
  pcieAt: number;
  pcieBusy: boolean;
}

/**
 * GPU sampling through NVML directly: a few library calls per GPU per tick instead of a nvidia-smi
 * process. Metric names and units match the nvidia-smi path. Every sample says what it covers:
 * utilization its NVML sample period (nvmlDeviceGetSamples), GPM its window, link counters the
 * time between two reads, memory the tick, and power, clocks and the rest the second since their
 * previous reading.
 */
export class NvmlSampler extends IntervalSampler {
  readonly name = 'gpu.nvml';
  private readonly per = new Map<number, PerGpu>();
  /** (gpu, query) pairs the GPU answered Not Supported: their reason, reported without asking again. */
  private readonly unsupported = new Map<string, string>();
  private readonly slow = new Map<number, { at: number; m: Record<string, number>; absent: Record<string, string> }>();
  private running = false;
  /** GPUs whose PCIe/NVLink rates another sampler gives (DCGM's profiling), so no second series. */
  private readonly linksElsewhere = new Set<number>();

  constructor(
    ctx: SamplerContext,
    private readonly api: NvmlApi,
    private readonly devices: readonly NvmlDevice[],
    intervalMs: number,
    /** The clock call costs are measured with (wall ms; a replay supplies what the calls cost on a GPU). */
    private readonly clock: () => number = () => performance.now(),
  ) {
    super(ctx, intervalMs);
  }

  /**
   * Leaves PCIe/NVLink rates of these GPUs to DCGM: its profiling fields count the same bytes GPM
   * does, and two series of one metric on one GPU would disagree by their windows. Before start.
   */
  leaveLinkRatesTo(gpus: readonly number[]): void {
    for (const g of gpus) this.linksElsewhere.add(g);
  }

  override start(emit: Emit): void {
    this.running = true;
    for (const d of this.devices) {
      const util = new UtilSamples(this.api, d.handle);
      const gpmIds = GPM_COLUMNS.map((c) => c.id);
      this.per.set(d.index, {
        util,
        gpm: d.gpm ? new GpmReader(this.api, d.handle, gpmIds, this.intervalMs, { log: (msg) => this.ctx.log(`${this.name}: GPU ${d.index} GPM: ${msg}`), clock: this.clock }) : null,
        links: d.gpm || this.linksElsewhere.has(d.index) ? null : new LinkCounters(this.api, d.handle),
        linkPacer: new CostPacer(this.intervalMs, LINK_BUDGET_SHARE, this.intervalMs, 1000),
        prevAt: 0,
        secondAt: -Infinity,
        utilProblemSaid: false,
        utilAt: -Infinity,
        pcieAt: -Infinity,
        pcieBusy: false,
      });
    }
    super.start(emit);
  }

  protected override release(): void {
    this.running = false;
    for (const p of this.per.values()) p.gpm?.release();
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

  /** Values that change rarely (limits, max clocks, links and their capacity), re-read every SLOW_MS. */
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
    const pcie = pcieCapacityMibps(m.pcie_link_gen, m.pcie_link_width);
    put('pcie_capacity_mibps', pcie === null ? { ok: false, reason: '[PCIe generation or width unknown]' } : { ok: true, value: pcie });
    const nvl = readNvlink(this.api, d.handle);
    put('nvlink_active_links', nvl.activeLinks === null ? { ok: false, reason: nvl.reason ?? '[unknown]' } : { ok: true, value: nvl.activeLinks });
    const cap = nvlinkCapacityMibps(nvl.activeLinks, nvl.perLinkMBps);
    put('nvlink_capacity_mibps', cap === null ? { ok: false, reason: nvl.reason ?? '[unknown]' } : { ok: true, value: cap });
    const fresh = { at: now, m, absent };
    this.slow.set(d.index, fresh);
    return fresh;
  }

  /**
   * Readings that move over seconds, in a sample of their own every MEDIUM_MS that covers the time
   * since the previous one: power (a one-second average on Ampere and newer, except GA100),
   * clocks and their event reasons, temperature, P-state, ECC, and the slow values.
   */
  private secondly(d: NvmlDevice, now: number, mem: { total: number; reserved: number } | null): { m: Record<string, number>; absent: Record<string, string> } {
    const { NVML_TEMPERATURE_GPU, NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC } = CONSTANTS;
    const m: Record<string, number> = {};
    const absent: Record<string, string> = {};
    const put = (key: GpuMetric, r: Reading, scale = 1): void => {
      if (r.ok) m[key] = Math.round(r.value * scale * 100) / 100;
      else absent[key] = r.reason;
    };
    const h = d.handle;
    const i = d.index;
    put('power_w', this.read(i, 'power', h), 1 / 1000);
    put('sm_clock_mhz', this.read(i, 'clock', h, NVML_CLOCK_SM));
    put('clock_event_reasons', this.read(i, 'eventReasons', h));
    put('temp_c', this.read(i, 'temperature', h, NVML_TEMPERATURE_GPU));
    put('mem_clock_mhz', this.read(i, 'clock', h, NVML_CLOCK_MEM));
    put('fan_pct', this.read(i, 'fan', h));
    put('pstate', this.read(i, 'pstate', h));
    put('ecc_uncorrected', this.read(i, 'ecc', h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC));
    if (mem) {
      m.mem_total_mib = mem.total;
      m.mem_reserved_mib = mem.reserved;
    }
    if (d.migMode !== null) m.mig_enabled = d.migMode === 'Enabled' ? 1 : 0;
    const slow = this.slowValues(d, now);
    return { m: { ...m, ...slow.m }, absent: { ...absent, ...slow.absent } };
  }

  protected sampleOnce(emit: Emit): void {
    for (const d of this.devices) {
      const now = Date.now();
      const st = this.per.get(d.index) as PerGpu;
      const sample = (t: number, dur: number, m: Record<string, number>): TimedSample => ({ t, host: this.ctx.host, source: 'gpu', gpu: d.index, dur_ms: dur, m });
      const h = d.handle;
      const m: Record<string, number> = {};
      const absent: Record<string, string> = {};
      const dur = st.prevAt > 0 ? now - st.prevAt : this.intervalMs;
      st.prevAt = now;
      // nvmlDeviceGetSamples costs ~1.4 ms of CPU a call on the H100 (docs/gpu-run-h100/nvml-check.json)
      // and the driver keeps its ~200 ms samples in a buffer: asking once a second gets the same
      // windows for a tenth of the cost. Until the samples prove usable, ask every tick.
      const utilDue = st.util.problem !== null || now - st.utilAt >= UTIL_READ_MS - this.intervalMs / 2;
      if (utilDue) st.utilAt = now;
      const windows = utilDue ? st.util.read(now) : [];
      if (windows === null || windows.length > 0) {
        const util = { gpu: 0, memory: 0 };
        const urc = Number(this.api.call.utilization?.(h, util));
        if (windows === null) {
          if (!st.utilProblemSaid) this.ctx.log(`${this.name}: GPU ${d.index}: utilization samples unusable (${st.util.problem}); utilization as read each tick instead`);
          st.utilProblemSaid = true;
          // No usable NVML sample times on this GPU: utilization as of now, for the tick.
          if (urc === NVML_SUCCESS) Object.assign(m, { util_pct: util.gpu, mem_util_pct: util.memory });
          else absent.util_pct = absent.mem_util_pct = `[${this.api.errorString(urc)}]`;
        } else {
          windows.forEach((w, k) => {
            const um: Record<string, number> = { util_pct: w.pct };
            // Memory utilization is NVML's latest period, the one that ends with the last window.
            if (k === windows.length - 1 && urc === NVML_SUCCESS) um.mem_util_pct = util.memory;
            emit(sample(w.t, w.durMs, um));
          });
        }
      }
      const mem = { version: CONSTANTS.NVML_MEMORY_V2, total: 0, reserved: 0, free: 0, used: 0 };
      const mrc = Number(this.api.call.memory?.(h, mem));
      // Whole MiB, as nvidia-smi prints them (it rounds: 2924.6 MiB reads 2925 on an H100).
      if (mrc === NVML_SUCCESS) m.mem_used_mib = Math.round(Number(mem.used) / MIB);
      else absent.mem_used_mib = absent.mem_total_mib = absent.mem_reserved_mib = `[${this.api.errorString(mrc)}]`;
      const link = st.links?.live() && st.linkPacer.tick() ? this.readLinks(st, now) : null;
      // Counters read over the same window as this tick's reading go into its sample.
      if (link && link.durMs === dur) Object.assign(m, link.m);
      else if (link && Object.keys(link.m).length > 0) emit(sample(link.t, link.durMs, link.m));
      if (link) Object.assign(absent, link.absent);
      emit(sample(now, dur, m));
      // Half a tick early counts as due, so timer jitter does not push the reading a tick late.
      if (now - st.secondAt >= MEDIUM_MS - this.intervalMs / 2) {
        const sec = this.secondly(d, now, mrc === NVML_SUCCESS ? { total: Math.round(Number(mem.total) / MIB), reserved: Math.round(Number(mem.reserved) / MIB) } : null);
        Object.assign(absent, sec.absent);
        emit(sample(now, Number.isFinite(st.secondAt) ? now - st.secondAt : MEDIUM_MS, sec.m));
        st.secondAt = now;
      }
      this.absent.add(absent);
      for (const g of st.gpm?.tick(now) ?? []) {
        this.absent.add(g.absent);
        if (Object.keys(g.m).length > 0) emit(sample(g.t, g.durMs, g.m));
      }
      if (st.links && !st.links.pcieCounted()) this.pcieThroughput(d, st, now, emit);
    }
    this.samples++;
  }

  private readLinks(st: PerGpu, now: number): ReturnType<LinkCounters['read']> {
    const t0 = this.clock();
    const r = st.links?.read(now) ?? null;
    st.linkPacer.record(this.clock() - t0);
    return r;
  }

  /**
   * PCIe rates on GPUs without GPM nor byte counters (drivers before r550): nvmlDeviceGetPcieThroughput
   * counts bytes over 20 ms and blocks meanwhile, so it runs on koffi's worker thread, TX then RX.
   */
  private pcieThroughput(d: NvmlDevice, st: PerGpu, now: number, emit: Emit): void {
    const f = this.api.call.pcieThroughput as AsyncFn | undefined;
    if (!f?.async || st.pcieBusy || now - st.pcieAt < PCIE_THROUGHPUT_EVERY_MS || this.unsupported.has(`${d.index}:pcieThroughput`)) return;
    st.pcieBusy = true;
    st.pcieAt = now;
    const one = (counter: number, metric: GpuMetric, next: () => void): void => {
      const out = [0];
      (f.async as (...a: unknown[]) => void)(d.handle, counter, out, (err: unknown, rc: unknown) => {
        if (!this.running) return;
        const code = err ? -1 : Number(rc);
        // NVML's KB/s; KB taken as 1024 bytes, as in NVML's memory figures.
        if (code === NVML_SUCCESS) emit({ t: Date.now(), host: this.ctx.host, source: 'gpu', gpu: d.index, dur_ms: PCIE_THROUGHPUT_WINDOW_MS, m: { [metric]: Math.round(((out[0] as number) / 1024) * 100) / 100 } });
        else {
          if (code === NVML_ERROR_NOT_SUPPORTED) this.unsupported.set(`${d.index}:pcieThroughput`, '[Not Supported]');
          this.absent.add({ [metric]: `[${code < 0 ? String(err) : this.api.errorString(code)}]` });
        }
        next();
      });
    };
    one(NVML_PCIE_UTIL_TX_BYTES, 'pcie_tx_mibps', () => one(NVML_PCIE_UTIL_RX_BYTES, 'pcie_rx_mibps', () => (st.pcieBusy = false)));
  }
}
