import type { HostFingerprint, Sample, WorkloadRuntime } from '@stagewatch/shared';
import { classifyGpu, classifyStage, type Bottleneck, type HostFacts, type Thresholds } from './bottleneck.js';
import { isSpanMark } from './span-pairs.js';
import { buildStages, type MarkLike, type StageInterval } from './stages.js';
import { energyJoules, max, mean, round, summarize, type Summary } from './stats.js';

export interface ReportInput {
  run: { id: string; kind: string; startedAt: number; endedAt: number | null; exitCode: number | null; signal?: string | null };
  hosts: Array<{
    host: string;
    gpus: Array<{ index: number; name: string }>;
    /** In time order. */
    samples: readonly Sample[];
    marks: ReadonlyArray<MarkLike & { gauges?: Record<string, number>; source?: string }>;
    /** What the host is (agent's hello) and what the workload said it runs on. */
    fingerprint?: { host: HostFingerprint | null; workload: WorkloadRuntime | null };
    /** Where the agent said SM activity comes from (absent from older agents). */
    smActivity?: 'gpm' | 'dcgm' | 'none';
  }>;
}

export interface GpuStage {
  index: number;
  util_pct: Summary | null;
  sm_active_pct: Summary | null;
  tensor_active_pct: Summary | null;
  mem_used_mib: { max: number | null };
  power_w: { mean: number | null };
  energy_j: number | null;
  nvlink_rx_mibps: number | null;
  nvlink_tx_mibps: number | null;
  pcie_rx_mibps: number | null;
  pcie_tx_mibps: number | null;
  bottleneck: Bottleneck;
  evidence: string;
}

export interface StageReport {
  name: string;
  depth: number;
  start_ms: number;
  end_ms: number;
  duration_s: number;
  samples: number;
  unterminated: boolean;
  /** Set where the agent inferred this stage's bounds (no log line or mark gave them): how, in words. */
  inferred: string | null;
  /** `inferred`: steps whose times were split evenly (a throttled progress bar drew them at once). */
  steps: { stage: string; count: number; inferred: number; duration_s: Summary; slowest: { step: number; duration_s: number } } | null;
  gpus: GpuStage[];
  host: { cpu_pct: { mean: number | null }; cpu_core_max_pct: { mean: number | null; max: number | null }; disk_read_mibps: { mean: number | null; max: number | null }; disk_write_mibps: { mean: number | null } };
  /** thread_max_pct: the workload's busiest thread, % of one core (null where the agent did not sample it). */
  proc: { cpu_cores: { mean: number | null; max: number | null }; thread_max_pct: { mean: number | null; max: number | null }; rss_mib: { max: number | null } };
  workload: { torch_reserved_mib: { max: number | null }; torch_allocated_mib: { max: number | null } } | null;
  bottleneck: Bottleneck;
  evidence: string;
}

export interface HostReport {
  host: string;
  gpus: Array<{ index: number; name: string }>;
  /** True where any SM activity samples exist (GPM, or DCGM on newer agents: see sm_activity). */
  gpm: boolean;
  /** Which source gave SM activity: the agent's word, else GPM where samples exist. */
  sm_activity: 'gpm' | 'dcgm' | 'none';
  fingerprint: { host: HostFingerprint | null; workload: WorkloadRuntime | null };
  stages: StageReport[];
  problems: string[];
}

export interface Report {
  run: ReportInput['run'] & { hosts: string[] };
  thresholds: Thresholds;
  hosts: HostReport[];
}

/** Samples of one series with time, sorted, for range lookups. */
class Series {
  t: number[] = [];
  v: number[] = [];
  push(t: number, v: number): void {
    this.t.push(t);
    this.v.push(v);
  }
  sort(): void {
    // Samples arrive almost in order; skip the work when they are.
    if (this.t.every((x, i) => i === 0 || (this.t[i - 1] as number) <= x)) return;
    const idx = this.t.map((_, i) => i).sort((a, b) => (this.t[a] as number) - (this.t[b] as number));
    this.t = idx.map((i) => this.t[i] as number);
    this.v = idx.map((i) => this.v[i] as number);
  }
  /** Values with start <= t < end. */
  range(start: number, end: number): { t: number[]; v: number[] } {
    const lo = lowerBound(this.t, start);
    const hi = lowerBound(this.t, end);
    return { t: this.t.slice(lo, hi), v: this.v.slice(lo, hi) };
  }
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class SeriesMap {
  private readonly map = new Map<string, Series>();
  get(key: string): Series {
    let s = this.map.get(key);
    if (!s) this.map.set(key, (s = new Series()));
    return s;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  sortAll(): void {
    for (const s of this.map.values()) s.sort();
  }
}

const GPM_KEYS = new Set(['sm_active_pct', 'sm_occupancy_pct', 'tensor_active_pct', 'dram_active_pct', 'gr_active_pct', 'pcie_tx_mibps', 'pcie_rx_mibps', 'nvlink_tx_mibps', 'nvlink_rx_mibps']);

/** The per-stage, per-host report: a pure function of samples and marks. */
export function buildReport(input: ReportInput, th: Thresholds): Report {
  const hosts = input.hosts.map((h) => hostReport(h, input.run, th));
  return { run: { ...input.run, hosts: input.hosts.map((h) => h.host) }, thresholds: th, hosts };
}

function hostReport(h: ReportInput['hosts'][number], run: ReportInput['run'], th: Thresholds): HostReport {
  const series = new SeriesMap();
  const gpuIdx = new Set<number>(h.gpus.map((g) => g.index));
  const allTimes = new Series();
  let lastT = 0;
  for (const s of h.samples) {
    allTimes.push(s.t, 1);
    lastT = Math.max(lastT, s.t);
    if (s.source === 'gpu' && s.gpu !== undefined) {
      gpuIdx.add(s.gpu);
      for (const [k, v] of Object.entries(s.m)) {
        // GPM values describe the interval before they print; move them back to it.
        const t = GPM_KEYS.has(k) ? s.t - th.gpmLagMs : s.t;
        series.get(`gpu${s.gpu}.${k}`).push(t, v);
      }
    } else {
      for (const [k, v] of Object.entries(s.m)) series.get(`${s.source}.${k}`).push(s.t, v);
    }
  }
  series.sortAll();
  allTimes.sort();
  const endOfData = h.marks.reduce((a, m) => Math.max(a, m.t), Math.max(lastT, run.endedAt ?? 0));
  // Spans (marks with timing) are summarised per step by breakdown.ts, never listed as stages.
  const { stages, problems } = buildStages(preferExplicit(h.marks.filter((m) => !isSpanMark(m))), endOfData);
  const gauges = h.marks.filter((m) => m.gauges).map((m) => ({ t: m.t, g: m.gauges as Record<string, number> }));
  const gpus = [...gpuIdx].sort((a, b) => a - b).map((index) => ({ index, name: h.gpus.find((g) => g.index === index)?.name ?? 'unknown GPU' }));
  const gpm = gpus.some((g) => series.has(`gpu${g.index}.sm_active_pct`));
  const reports = stages
    .filter((s) => !(s.step !== undefined && s.depth > 0))
    .map((s) => stageReport(s, stages, series, allTimes, gpus, gpm, gauges, th));
  return { host: h.host, gpus, gpm, sm_activity: h.smActivity ?? (gpm ? 'gpm' : 'none'), fingerprint: h.fingerprint ?? { host: null, workload: null }, stages: reports, problems };
}

function stageReport(
  s: StageInterval,
  all: readonly StageInterval[],
  series: SeriesMap,
  times: Series,
  gpus: ReadonlyArray<{ index: number }>,
  gpmHost: boolean,
  gauges: ReadonlyArray<{ t: number; g: Record<string, number> }>,
  th: Thresholds,
): StageReport {
  const r = (key: string): number[] => (series.has(key) ? series.get(key).range(s.start, s.end).v : []);
  const workloadCores = mean(r('proc.cpu_cores'));
  const hostFacts: HostFacts = {
    workloadCores,
    coreMaxPct: mean(r('host.cpu_core_max_pct')),
    diskMibps: sumOrNull(mean(r('host.disk_read_mibps')), mean(r('host.disk_write_mibps'))),
  };
  const gpuStages: GpuStage[] = gpus.map(({ index }) => {
    const g = (k: string): number[] => r(`gpu${index}.${k}`);
    const util = summarize(g('util_pct'));
    const sm = summarize(g('sm_active_pct'));
    const tensor = summarize(g('tensor_active_pct'));
    const nvl = sumOrNull(mean(g('nvlink_rx_mibps')), mean(g('nvlink_tx_mibps')));
    const pcie = sumOrNull(mean(g('pcie_rx_mibps')), mean(g('pcie_tx_mibps')));
    const power = series.has(`gpu${index}.power_w`) ? series.get(`gpu${index}.power_w`).range(s.start, s.end) : { t: [], v: [] };
    const { label, evidence } = classifyGpu(
      { index, gpmHost, util: util?.mean ?? null, sm: sm?.mean ?? null, tensor: tensor?.mean ?? null, link: nvl === null && pcie === null ? null : Math.max(nvl ?? 0, pcie ?? 0) },
      hostFacts,
      th,
    );
    return {
      index,
      util_pct: util,
      sm_active_pct: sm,
      tensor_active_pct: tensor,
      mem_used_mib: { max: max(g('mem_used_mib')) },
      power_w: { mean: mean(power.v) },
      energy_j: energyJoules(power.t.map((t, i) => [t, power.v[i] as number] as const)),
      nvlink_rx_mibps: mean(g('nvlink_rx_mibps')),
      nvlink_tx_mibps: mean(g('nvlink_tx_mibps')),
      pcie_rx_mibps: mean(g('pcie_rx_mibps')),
      pcie_tx_mibps: mean(g('pcie_tx_mibps')),
      bottleneck: label,
      evidence,
    };
  });
  // Only GPUs that reported in this stage take part in its label.
  const reporting = gpuStages.filter((g) => g.util_pct !== null || g.sm_active_pct !== null);
  const stage = classifyStage(reporting.map((g) => ({ label: g.bottleneck, evidence: g.evidence })), hostFacts, th);
  const inStage = gauges.filter((x) => x.t >= s.start && x.t <= s.end);
  const reserved = inStage.map((x) => x.g.torch_reserved_mib).filter((v): v is number => v !== undefined);
  const allocated = inStage.map((x) => x.g.torch_allocated_mib).filter((v): v is number => v !== undefined);
  const steps = all.filter((c) => c.step !== undefined && c.depth === s.depth + 1 && c.start >= s.start && c.end <= s.end);
  const stepDur = steps.map((c) => (c.end - c.start) / 1000);
  const slowest = steps.reduce<StageInterval | null>((a, c) => (a === null || c.end - c.start > a.end - a.start ? c : a), null);
  return {
    name: s.name,
    depth: s.depth,
    start_ms: Math.round(s.start),
    end_ms: Math.round(s.end),
    duration_s: round((s.end - s.start) / 1000, 3),
    samples: times.range(s.start, s.end).t.length,
    unterminated: s.unterminated,
    inferred: s.inferred ?? null,
    steps: slowest
      ? { stage: slowest.name, count: steps.length, inferred: steps.filter((c) => c.inferred !== undefined).length, duration_s: summarize(stepDur) as Summary, slowest: { step: slowest.step as number, duration_s: round((slowest.end - slowest.start) / 1000, 3) } }
      : null,
    gpus: gpuStages,
    host: {
      cpu_pct: { mean: mean(r('host.cpu_pct')) },
      cpu_core_max_pct: { mean: hostFacts.coreMaxPct, max: max(r('host.cpu_core_max_pct')) },
      disk_read_mibps: { mean: mean(r('host.disk_read_mibps')), max: max(r('host.disk_read_mibps')) },
      disk_write_mibps: { mean: mean(r('host.disk_write_mibps')) },
    },
    proc: {
      cpu_cores: { mean: workloadCores, max: max(r('proc.cpu_cores')) },
      thread_max_pct: { mean: mean(r('proc.thread_max_pct')), max: max(r('proc.thread_max_pct')) },
      rss_mib: { max: max(r('proc.rss_mib')) },
    },
    workload: reserved.length + allocated.length > 0 ? { torch_reserved_mib: { max: max(reserved) }, torch_allocated_mib: { max: max(allocated) } } : null,
    bottleneck: stage.label,
    evidence: stage.evidence,
  };
}

/**
 * A stage marked both by the workload (HTTP or file marks) and by a log preset would appear twice;
 * the workload's own marks are the precise ones, so log-derived marks of those stages are dropped.
 */
export function preferExplicit<M extends MarkLike & { source?: string }>(marks: readonly M[]): M[] {
  const explicit = new Set(marks.filter((m) => m.source !== undefined && m.source !== 'log').map((m) => m.stage));
  return marks.filter((m) => m.source !== 'log' || !explicit.has(m.stage));
}

function sumOrNull(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}
