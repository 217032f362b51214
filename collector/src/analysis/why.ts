import type { HostFingerprint, WorkloadRuntime } from '@stagewatch/shared';
import type { StageReport } from './report.js';

/**
 * Why a stage takes longer on one host than another: the host facts and the stage's figures that
 * bear on its bottleneck label, side by side. Pure: reports in, differences out.
 */

/** A stage "differs" between hosts when one takes this many times as long as the other. */
export const DIFFERS_RATIO = 1.1;

export interface Identity {
  host: HostFingerprint | null;
  workload: WorkloadRuntime | null;
}

export interface SideBySide {
  what: string;
  a: string;
  b: string;
}

export interface Explanation {
  /**
   * The labels whose facts were consulted: the union of both hosts' labels for the stage, and
   * `offload` (evidence, not a label) where either stage has offload evidence on any GPU.
   */
  labels: string[];
  /** Fingerprint fields bearing on those labels that differ ("unknown" where a host did not show one). */
  fingerprint: SideBySide[];
  /** Bearing fields that are the same on both hosts. */
  same: string[];
  /** The stage's figures bearing on those labels, on each host. */
  metrics: SideBySide[];
}

const ALL = 'any';
// Keys are labels (thresholds.ts LABELS), plus `offload`: the stage's offload evidence (GpuStage.offload).
const CPU = ['host-bound', ALL];
const GPU = ['compute', 'waiting', 'communication', 'offload', ALL];
const LINK = ['communication', 'offload', ALL];

type Get<T> = (x: T) => string | null;
const num = (v: number | null | undefined, unit: string, d = 0): string | null => (v === null || v === undefined ? null : `${v.toFixed(d)}${unit}`);

/** Fingerprint fields: name, how to read it, and the labels it bears on. */
const FIELDS: ReadonlyArray<{ what: string; get: Get<Identity>; bears: readonly string[] }> = [
  { what: 'CPU', get: (i) => i.host?.cpu.model ?? null, bears: CPU },
  { what: 'CPU max clock', get: (i) => num(i.host?.cpu.maxGhz, ' GHz', 2), bears: CPU },
  { what: 'CPU base clock', get: (i) => num(i.host?.cpu.baseGhz, ' GHz', 2), bears: CPU },
  {
    what: 'CPU sockets/cores/threads',
    get: (i) => (i.host ? [i.host.cpu.sockets, i.host.cpu.cores, i.host.cpu.threads].map((v) => v ?? '?').join('/') : null),
    bears: CPU,
  },
  { what: 'torch CPU threads', get: (i) => (i.workload?.torch_threads === undefined ? null : String(i.workload.torch_threads)), bears: CPU },
  { what: 'NUMA nodes', get: (i) => (i.host?.numaNodes == null ? null : String(i.host.numaNodes)), bears: ['host-bound', 'communication', ALL] },
  {
    what: 'memory',
    get: (i) => (i.host?.memory.totalMib == null ? null : [`${(i.host.memory.totalMib / 1024).toFixed(0)} GiB`, i.host.memory.type, num(i.host.memory.speedMts, ' MT/s')].filter(Boolean).join(' ')),
    bears: ['io', 'offload', ALL],
  },
  {
    what: 'disks',
    get: (i) => (i.host && i.host.disks.length > 0 ? i.host.disks.map((d) => `${d.model ?? d.name} (${d.type ?? 'type unknown'})`).join(', ') : null),
    bears: ['io', ALL],
  },
  { what: 'GPU', get: (i) => (i.host && i.host.gpus.length > 0 ? [...new Set(i.host.gpus.map((g) => g.name))].join(', ') : null), bears: GPU },
  {
    what: 'GPU PCIe link (max)',
    get: (i) => (i.host && i.host.gpus.some((g) => g.pcieGenMax !== null) ? [...new Set(i.host.gpus.map((g) => `gen${g.pcieGenMax ?? '?'} x${g.pcieWidthMax ?? '?'}`))].join(', ') : null),
    bears: LINK,
  },
  { what: 'driver', get: (i) => i.host?.driverVersion ?? null, bears: GPU },
  { what: 'CUDA (driver)', get: (i) => i.host?.cudaVersion ?? null, bears: GPU },
  { what: 'CUDA runtime (torch)', get: (i) => i.workload?.cuda_runtime ?? null, bears: GPU },
  { what: 'torch', get: (i) => i.workload?.torch ?? null, bears: [...CPU, ...GPU] },
  { what: 'Python', get: (i) => i.workload?.python ?? null, bears: CPU },
];

const gpuSum = (s: StageReport, f: (g: StageReport['gpus'][number]) => number | null): number | null => {
  const v = s.gpus.map(f).filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0);
};
const gpuMean = (s: StageReport, f: (g: StageReport['gpus'][number]) => number | null): number | null => {
  const v = s.gpus.map(f).filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
};
const both = (a: number | null, b: number | null): number | null => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));

/** Stage figures: name, how to read it, and the labels it bears on. */
const METRICS: ReadonlyArray<{ what: string; get: (s: StageReport) => string | null; bears: readonly string[] }> = [
  { what: 'busiest workload thread', get: (s) => num(s.proc.thread_max_pct.mean, '%'), bears: CPU },
  { what: 'workload cores', get: (s) => num(s.proc.cpu_cores.mean, '', 2), bears: CPU },
  { what: 'busiest host core', get: (s) => num(s.host.cpu_core_max_pct.mean, '%'), bears: CPU },
  { what: 'disk read', get: (s) => num(s.host.disk_read_mibps.mean, ' MiB/s'), bears: ['io', ALL] },
  { what: 'disk write', get: (s) => num(s.host.disk_write_mibps.mean, ' MiB/s'), bears: ['io', ALL] },
  { what: 'PCIe host-to-device', get: (s) => num(gpuSum(s, (g) => g.pcie_rx_mibps), ' MiB/s'), bears: LINK },
  { what: 'NVLink rx+tx', get: (s) => num(gpuSum(s, (g) => both(g.nvlink_rx_mibps, g.nvlink_tx_mibps)), ' MiB/s'), bears: ['communication', ALL] },
  { what: 'SM active', get: (s) => num(gpuMean(s, (g) => g.sm_active_pct?.mean ?? null), '%'), bears: GPU },
  { what: 'GPU util', get: (s) => num(gpuMean(s, (g) => g.util_pct?.mean ?? null), '%'), bears: GPU },
];

/** True where the stage took DIFFERS_RATIO times as long on one host as on the other. */
export function stageDiffers(ratio: number | null): boolean {
  return ratio !== null && (ratio >= DIFFERS_RATIO || ratio <= 1 / DIFFERS_RATIO);
}

export function explain(sa: StageReport, sb: StageReport, ia: Identity, ib: Identity): Explanation {
  const labels: string[] = [...new Set([sa.bottleneck, sb.bottleneck])];
  // Weights swapped in over PCIe bear on the stage whatever its label: the report's own offload
  // evidence (offloadH2dMibps for offloadShare of the stage) says so, one rule in one place.
  if ([sa, sb].some((s) => s.gpus.some((g) => g.offload !== null))) labels.push('offload');
  // mixed, idle and no-data say nothing about which part is short: every fact bears on them.
  const keys = new Set(labels.some((l) => l === 'mixed' || l === 'idle' || l === 'no-data') ? [ALL] : labels);
  const bears = (b: readonly string[]): boolean => b.some((x) => keys.has(x));
  const fingerprint: SideBySide[] = [];
  const same: string[] = [];
  for (const f of FIELDS.filter((x) => bears(x.bears))) {
    const a = f.get(ia);
    const b = f.get(ib);
    if (a === null && b === null) continue;
    if (a === b) same.push(f.what);
    else fingerprint.push({ what: f.what, a: a ?? 'unknown', b: b ?? 'unknown' });
  }
  const metrics: SideBySide[] = [];
  for (const m of METRICS.filter((x) => bears(x.bears))) {
    const a = m.get(sa);
    const b = m.get(sb);
    if (a !== null || b !== null) metrics.push({ what: m.what, a: a ?? 'n/a', b: b ?? 'n/a' });
  }
  return { labels, fingerprint, same, metrics };
}

/** The explanation in one sentence for the comparison's text. */
export function explanationText(e: Explanation): string {
  const parts: string[] = [];
  if (e.fingerprint.length > 0) parts.push(`hosts differ in ${e.fingerprint.map((d) => `${d.what} (${d.a} vs ${d.b})`).join(', ')}`);
  else parts.push(`no host difference known that bears on ${e.labels.join('/')}`);
  if (e.same.length > 0) parts.push(`same ${e.same.join(', ')}`);
  if (e.metrics.length > 0) parts.push(e.metrics.map((m) => `${m.what} ${m.a} vs ${m.b}`).join(', '));
  return parts.join('; ');
}
