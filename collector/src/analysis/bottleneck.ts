import { z } from 'zod';

export const BOTTLENECKS = ['gpu-compute', 'gpu-waiting', 'communication', 'host-cpu', 'io', 'idle', 'mixed'] as const;
export type Bottleneck = (typeof BOTTLENECKS)[number];

/**
 * Thresholds behind the bottleneck labels (docs/REPORT.md explains each). Override any of them
 * with `report --thresholds FILE` (a JSON object with some of these keys).
 */
export const ThresholdsSchema = z.strictObject({
  /** GPM SM activity mean at or above this: gpu-compute. */
  computeSmActivePct: z.number().min(0).max(100).default(70),
  /** Without GPM, utilization mean at or above this: gpu-compute (utilization overstates work). */
  computeUtilPct: z.number().min(0).max(100).default(85),
  /** Utilization at or above this while SM activity is under waitingSmActivePct: gpu-waiting. */
  waitingUtilPct: z.number().min(0).max(100).default(70),
  waitingSmActivePct: z.number().min(0).max(100).default(40),
  /** GPU activity (SM activity, else utilization) under this: the GPU is not what limits the stage. */
  lowActivityPct: z.number().min(0).max(100).default(30),
  /** GPU activity under this with nothing else busy: idle. */
  idleActivityPct: z.number().min(0).max(100).default(10),
  /** Workload CPU mean at or above this many cores: it keeps at least one core saturated. */
  hostCores: z.number().positive().default(0.8),
  /** Without workload samples, the busiest host core's mean at or above this: host-cpu. */
  hostCoreBusyPct: z.number().min(0).max(100).default(90),
  /** Disk read+write mean at or above this (MiB/s): io. */
  ioMibps: z.number().nonnegative().default(50),
  /** NVLink or PCIe rx+tx mean at or above this (MiB/s) while SMs are not busy: communication. */
  linkMibps: z.number().nonnegative().default(1024),
  /**
   * Extra shift for GPM samples. Agents already stamp GPM at the time it describes; this is for
   * data from elsewhere that was stamped when printed.
   */
  gpmLagMs: z.number().nonnegative().default(0),
});
export type Thresholds = z.infer<typeof ThresholdsSchema>;
export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});

export interface GpuFacts {
  index: number;
  /** The host reports GPM at all (so a null `sm` means no GPM sample fell in this stage). */
  gpmHost: boolean;
  util: number | null;
  sm: number | null;
  tensor: number | null;
  link: number | null;
}

export interface HostFacts {
  workloadCores: number | null;
  coreMaxPct: number | null;
  diskMibps: number | null;
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${Math.round(v)}%`);

function hostLabel(h: HostFacts, th: Thresholds): { label: Bottleneck | null; why: string } {
  if (h.workloadCores !== null && h.workloadCores >= th.hostCores) {
    return { label: 'host-cpu', why: `the workload kept ${h.workloadCores.toFixed(2)} cores busy` };
  }
  if (h.workloadCores === null && h.coreMaxPct !== null && h.coreMaxPct >= th.hostCoreBusyPct) {
    return { label: 'host-cpu', why: `the busiest host core averaged ${pct(h.coreMaxPct)} (host-wide; without workload samples another process may be the one busy)` };
  }
  if (h.diskMibps !== null && h.diskMibps >= th.ioMibps) return { label: 'io', why: `the disks moved ${h.diskMibps.toFixed(0)} MiB/s` };
  return { label: null, why: '' };
}

/** One GPU's label for a stage, with the evidence in words. */
export function classifyGpu(g: GpuFacts, h: HostFacts, th: Thresholds): { label: Bottleneck; evidence: string } {
  const activity = g.sm ?? g.util;
  const noSm = g.gpmHost ? 'no GPM sample in this stage' : 'no GPM: SM activity unknown';
  const what = g.sm !== null ? `SM activity ${pct(g.sm)} (util ${pct(g.util)}${g.tensor !== null ? `, tensor ${pct(g.tensor)}` : ''})` : `util ${pct(g.util)} (${noSm})`;
  const gpu = `GPU ${g.index}`;
  const linkBusy = g.link !== null && g.link >= th.linkMibps;
  if (g.sm !== null && g.util !== null && g.util >= th.waitingUtilPct && g.sm < th.waitingSmActivePct) {
    if (linkBusy) return { label: 'communication', evidence: `${gpu}: ${what} with ${Math.round(g.link as number)} MiB/s over NVLink/PCIe: kernels wait on transfers` };
    return { label: 'gpu-waiting', evidence: `${gpu}: ${what}: kernels resident but SMs mostly idle (waiting, e.g. in a collective)` };
  }
  if (g.sm !== null ? g.sm >= th.computeSmActivePct : g.util !== null && g.util >= th.computeUtilPct) {
    return { label: 'gpu-compute', evidence: `${gpu}: ${what}: compute-bound` };
  }
  if (linkBusy && (activity ?? 0) < 50) {
    return { label: 'communication', evidence: `${gpu}: ${what} while ${Math.round(g.link as number)} MiB/s moved over NVLink/PCIe` };
  }
  if (activity === null || activity < th.lowActivityPct) {
    const host = hostLabel(h, th);
    if (host.label) return { label: host.label, evidence: `${gpu}: ${what}, while ${host.why}` };
    if (activity === null || activity < th.idleActivityPct) return { label: 'idle', evidence: `${gpu}: ${what}, host and disks quiet` };
  }
  return { label: 'mixed', evidence: `${gpu}: ${what}: neither the GPU nor the host is saturated` };
}

/** A stage's label from its GPUs' labels, or from the host alone where it has no GPU samples. */
export function classifyStage(gpus: ReadonlyArray<{ label: Bottleneck; evidence: string }>, h: HostFacts, th: Thresholds): { label: Bottleneck; evidence: string } {
  if (gpus.length === 0) {
    const host = hostLabel(h, th);
    return host.label ? { label: host.label, evidence: `no GPU samples; ${host.why}` } : { label: 'idle', evidence: 'no GPU samples; host not saturated' };
  }
  const labels = new Set(gpus.map((g) => g.label));
  const label = labels.size === 1 ? (gpus[0]?.label as Bottleneck) : 'mixed';
  const evidence = gpus.length <= 2 ? gpus.map((g) => g.evidence).join('; ') : `${[...labels].map((l) => `${gpus.filter((g) => g.label === l).length} GPU(s) ${l}`).join(', ')}; ${gpus[0]?.evidence}`;
  return { label, evidence };
}
