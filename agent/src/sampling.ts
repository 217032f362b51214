import os from 'node:os';
import type { ProbeResult, Sample, SamplerHealth } from '@stagewatch/shared';
import { errorMessage } from '@stagewatch/shared';
import { loadNvml, type NvmlApi } from './nvml/bindings.js';
import { GPM_COLUMNS } from './nvidia-smi/dmon.js';
import { probe, resolveNvidiaSmi, type GpuLibraries } from './probe.js';
import { NvmlSampler, nvmlDevices, type NvmlDevice } from './samplers/nvml.js';
import { DEFAULT_FIELDS } from './nvidia-smi/fields.js';
import { GpmDmonSampler } from './samplers/gpm-dmon.js';
import { HostSampler } from './samplers/host.js';
import { NvidiaSmiSampler } from './samplers/nvidia-smi.js';
import { nvmlCaps } from './nvml/caps.js';
import { NvmlProcesses } from './nvml/processes.js';
import { ProcTreeSampler } from './samplers/proc.js';
import { Ticker } from './samplers/ticker.js';
import { DcgmSampler } from './samplers/dcgm.js';
import { openDcgm, type DcgmSession } from './dcgm/session.js';
import type { GpuProcessSource, Sampler, SamplerContext } from './samplers/types.js';

export type { GpuLibraries } from './probe.js';
export type GpuBackend = 'auto' | 'nvml' | 'nvidia-smi';
export const GPU_BACKENDS: readonly GpuBackend[] = ['auto', 'nvml', 'nvidia-smi'];

export interface SamplingOptions {
  intervalMs: number;
  libraries: GpuLibraries;
  gpuBackend?: GpuBackend;
  pid?: number;
  host?: string;
  healthEveryMs?: number;
  /** Try DCGM for SM activity where a GPU has no GPM (default true; `--no-dcgm` turns it off). */
  dcgm?: boolean;
  log: (msg: string) => void;
  onSample: (s: Sample) => void;
  onHealth: (h: SamplerHealth) => void;
}

export interface Sampling {
  probe: ProbeResult;
  samplers: Sampler[];
  /** Adds the workload sampler once the workload's pid is known. */
  watchPid(pid: number): void;
  /** Pauses DCGM profiling (for Nsight), or resumes it; says what it did, or null without DCGM. */
  toggleDcgmPause(): string | null;
  stop(): Promise<void>;
}

/** Probes the host and starts every sampler that applies; a GPU problem never stops host sampling. */
export async function startSampling(opts: SamplingOptions): Promise<Sampling> {
  const host = opts.host ?? os.hostname();
  const samplers: Sampler[] = [];
  const ctx: SamplerContext = {
    host,
    log: opts.log,
    onHealthChange: (s) => opts.onHealth(s.health(Date.now())),
    ticker: new Ticker(opts.intervalMs),
  };
  const backend = opts.gpuBackend ?? 'auto';
  const opened = backend === 'nvidia-smi' ? null : openNvml(opts.libraries.nvmlLib);
  const fast = opened && 'api' in opened && opened.devices.length === 0 ? { error: 'NVML sees no GPU' } : opened;
  if (fast && 'api' in fast) {
    opts.log(`GPU backend: NVML (driver ${fast.api.version}), ${fast.devices.length} GPU(s), GPM on ${fast.devices.filter((d) => d.gpm).length}`);
    const nvml = new NvmlSampler(ctx, fast.api, fast.devices, opts.intervalMs);
    samplers.push(nvml);
    const gpuProcs = new NvmlProcesses(fast.api, fast.devices, opts.intervalMs);
    const probed = nvmlProbe(fast.api.version, fast.devices, fast.api);
    nvml.leaveLinkRatesTo(withDcgm(samplers, probed, fast.devices.filter((d) => !d.gpm).map((d) => d.index), ctx, opts));
    return begin(samplers, probed, ctx, opts, gpuProcs);
  }
  const nvmlError = fast && 'error' in fast ? fast.error : 'not tried (--gpu-backend nvidia-smi)';
  if (backend === 'nvml') {
    opts.log(`WARNING: --gpu-backend nvml, but NVML is unavailable (${nvmlError}); GPU sampling off, host only`);
    const none: ProbeResult = { ...nvmlProbe(null, []), nvml: { loaded: false, driverVersion: null, error: nvmlError }, backend: 'none' };
    withDcgm(samplers, none, undefined, ctx, opts);
    return begin(samplers, none, ctx, opts);
  }
  if (fast) opts.log(`NVML unavailable (${nvmlError}); sampling GPUs through nvidia-smi`);
  const smiPath = await resolveNvidiaSmi(opts.libraries);
  const probed = await probe({ smiPath });
  probed.nvml = { loaded: false, driverVersion: null, error: nvmlError };
  probed.backend = probed.nvidiaSmi.error ? 'none' : 'nvidia-smi';
  if (probed.nvidiaSmi.error) {
    opts.log(`WARNING: GPU sampling unavailable (${probed.nvidiaSmi.error}); sampling the host only, retrying nvidia-smi with backoff`);
  }
  if (probed.fields.unsupported.length > 0) {
    opts.log(`nvidia-smi does not know fields ${probed.fields.unsupported.join(', ')}: they are left out`);
  }
  // Even when the probe failed, keep a supervised nvidia-smi going: the driver may come back.
  const fields = probed.nvidiaSmi.error ? DEFAULT_FIELDS : probed.fields.supported;
  samplers.push(new NvidiaSmiSampler(ctx, { smiPath: smiPath ?? 'nvidia-smi', fields, intervalMs: opts.intervalMs }));
  if (probed.gpm) {
    samplers.push(new GpmDmonSampler(ctx, { smiPath: smiPath as string, gpmIds: probed.gpmIds, intervalMs: opts.intervalMs }));
  } else if (!probed.nvidiaSmi.error) {
    opts.log(`GPM not available (${probed.gpmError ?? 'unknown'})`);
  }
  withDcgm(samplers, probed, probed.gpm ? [] : probed.nvidiaSmi.error ? undefined : probed.gpus.map((g) => g.index), ctx, opts);
  return begin(samplers, probed, ctx, opts);
}

/** NVML and the GPUs it sees, if it loads; else why not. */
export function openNvml(libPath: string): { api: NvmlApi; devices: NvmlDevice[] } | { error: string } {
  try {
    const api = loadNvml(libPath);
    return { api, devices: nvmlDevices(api) };
  } catch (e) {
    return { error: errorMessage(e) };
  }
}

/** What the probe says when GPUs are sampled through NVML (or, with no devices, not at all). */
export function nvmlProbe(driverVersion: string | null, devices: readonly NvmlDevice[], api?: NvmlApi): ProbeResult {
  return {
    ...(api ? nvmlCaps(api, devices) : {}),
    nvidiaSmi: { path: null, version: null, error: null },
    gpus: devices.map((d) => ({ index: d.index, uuid: d.uuid, name: d.name, memTotalMib: d.memTotalMib === null ? null : Math.round(d.memTotalMib), migMode: d.migMode })),
    gpm: devices.some((d) => d.gpm),
    gpmIds: devices.some((d) => d.gpm) ? GPM_COLUMNS.map((c) => c.id) : [],
    gpmError: null,
    fields: { supported: [], unsupported: [] },
    host: { hostname: os.hostname(), cpus: os.cpus().length, memTotalMib: Math.round(os.totalmem() / 1048576) },
    nvml: { loaded: driverVersion !== null, driverVersion, error: null },
    backend: devices.length > 0 ? 'nvml' : 'none',
  };
}

/**
 * DCGM where GPM is not: for `noGpm` GPUs (undefined: no GPU sampler knows the GPUs, so whichever
 * DCGM supports). GPM wins where both exist: it costs nothing system-wide, DCGM's profiling holds
 * the GPU's counters. Sets the probe's `smActivity` and `dcgm`; returns the open session, if any.
 */
export function tryDcgm(probed: ProbeResult, noGpm: number[] | undefined, opts: { intervalMs: number; libs: readonly string[]; enabled: boolean }): DcgmSession | null {
  const off = { active: false, mode: null, lib: null, gpus: [] as number[] };
  probed.smActivity = probed.gpm ? 'gpm' : 'none';
  if (!opts.enabled) {
    probed.dcgm = { ...off, error: 'off (--no-dcgm)' };
    return null;
  }
  if (noGpm !== undefined && noGpm.length === 0) {
    probed.dcgm = { ...off, error: 'not needed: every GPU has GPM' };
    return null;
  }
  const opened = openDcgm({ intervalMs: opts.intervalMs, libs: opts.libs, ...(noGpm ? { gpuIds: noGpm } : {}) });
  if ('error' in opened) {
    probed.dcgm = { ...off, error: opened.error };
    return null;
  }
  probed.dcgm = { active: true, mode: opened.mode, lib: opened.api.lib, gpus: opened.gpuIds, error: null };
  if (!probed.gpm) probed.smActivity = 'dcgm';
  // DCGM's profiling gives these GPUs' PCIe/NVLink rates too; NVML's counters then stay unread.
  for (const c of probed.gpuCaps ?? []) if (!c.gpm && opened.gpuIds.includes(c.index)) c.linkRates = 'dcgm';
  return opened;
}

/** Adds the DCGM sampler where DCGM profiles; returns the GPUs it samples (none without DCGM). */
function withDcgm(samplers: Sampler[], probed: ProbeResult, noGpm: number[] | undefined, ctx: SamplerContext, opts: SamplingOptions): number[] {
  const opened = tryDcgm(probed, noGpm, { intervalMs: opts.intervalMs, libs: opts.libraries.dcgmLibs, enabled: opts.dcgm !== false });
  if (opened) {
    samplers.push(new DcgmSampler(ctx, opened, opts.intervalMs));
    opts.log(
      `SM activity through DCGM profiling (${opened.mode === 'hostengine' ? 'nv-hostengine' : 'embedded host engine'}, ${opened.api.lib}) on GPU(s) ${opened.gpuIds.join(', ')}, every ${opened.watchMs} ms. ` +
        "Before Hopper this holds the GPUs' performance counters system-wide: Nsight cannot profile meanwhile; SIGUSR2 pauses and resumes it (--no-dcgm turns it off)",
    );
  } else if (probed.smActivity === 'none' && probed.backend !== 'none') {
    opts.log(`no SM activity on this host (GPM: no; DCGM: ${probed.dcgm?.error ?? '?'}): sm_active_pct is absent; util_pct is not SM activity`);
  }
  return opened ? opened.gpuIds : [];
}

function begin(samplers: Sampler[], probed: ProbeResult, ctx: SamplerContext, opts: SamplingOptions, gpuProcs?: GpuProcessSource): Sampling {
  samplers.push(new HostSampler(ctx, opts.intervalMs));
  const tree = (pid: number): ProcTreeSampler => new ProcTreeSampler(ctx, pid, opts.intervalMs, gpuProcs ? { gpuProcs } : {});
  if (opts.pid !== undefined) samplers.push(tree(opts.pid));
  for (const s of samplers) s.start(opts.onSample);
  const healthTimer = setInterval(() => {
    const now = Date.now();
    for (const s of samplers) opts.onHealth(s.health(now));
  }, opts.healthEveryMs ?? 5000);
  return {
    probe: probed,
    samplers,
    watchPid(pid) {
      const s = tree(pid);
      samplers.push(s);
      s.start(opts.onSample);
    },
    toggleDcgmPause() {
      const d = samplers.find((x): x is DcgmSampler => x instanceof DcgmSampler);
      return d ? (d.isPaused ? d.resume() : d.pause()) : null;
    },
    async stop() {
      clearInterval(healthTimer);
      await Promise.all(samplers.map((s) => s.stop()));
      const now = Date.now();
      for (const s of samplers) opts.onHealth(s.health(now));
    },
  };
}
