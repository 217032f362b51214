import os from 'node:os';
import type { ProbeResult, Sample, SamplerHealth } from '@stagewatch/shared';
import { probe, resolveNvidiaSmi } from './probe.js';
import { DEFAULT_FIELDS } from './nvidia-smi/fields.js';
import { GpmDmonSampler } from './samplers/gpm-dmon.js';
import { HostSampler } from './samplers/host.js';
import { NvidiaSmiSampler } from './samplers/nvidia-smi.js';
import { ProcTreeSampler } from './samplers/proc.js';
import type { Sampler, SamplerContext } from './samplers/types.js';

export interface SamplingOptions {
  intervalMs: number;
  pid?: number;
  host?: string;
  healthEveryMs?: number;
  log: (msg: string) => void;
  onSample: (s: Sample) => void;
  onHealth: (h: SamplerHealth) => void;
}

export interface Sampling {
  probe: ProbeResult;
  samplers: Sampler[];
  /** Adds the workload sampler once the workload's pid is known. */
  watchPid(pid: number): void;
  stop(): Promise<void>;
}

/** Probes the host and starts every sampler that applies; a GPU problem never stops host sampling. */
export async function startSampling(opts: SamplingOptions): Promise<Sampling> {
  const host = opts.host ?? os.hostname();
  const smiPath = await resolveNvidiaSmi();
  const probed = await probe({ smiPath });
  const samplers: Sampler[] = [];
  const ctx: SamplerContext = {
    host,
    log: opts.log,
    onHealthChange: (s) => opts.onHealth(s.health(Date.now())),
  };
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
    opts.log(`GPM not available (${probed.gpmError ?? 'unknown'}): no sm_active_pct; util_pct is not SM activity`);
  }
  samplers.push(new HostSampler(ctx, opts.intervalMs));
  if (opts.pid !== undefined) samplers.push(new ProcTreeSampler(ctx, opts.pid, opts.intervalMs));
  for (const s of samplers) s.start(opts.onSample);
  const healthTimer = setInterval(() => {
    const now = Date.now();
    for (const s of samplers) opts.onHealth(s.health(now));
  }, opts.healthEveryMs ?? 5000);
  return {
    probe: probed,
    samplers,
    watchPid(pid) {
      const s = new ProcTreeSampler(ctx, pid, opts.intervalMs);
      samplers.push(s);
      s.start(opts.onSample);
    },
    async stop() {
      clearInterval(healthTimer);
      await Promise.all(samplers.map((s) => s.stop()));
      const now = Date.now();
      for (const s of samplers) opts.onHealth(s.health(now));
    },
  };
}
