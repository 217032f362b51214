/**
 * The per-stage, per-host report. Samples stream through a HostAggregator (statistics weighted by
 * the time each reading covers, state grids); stages then get their time shares and labels.
 */
import { HostAggregator, G, H, P, type Aggregated, type ReadingHead, type StageAcc } from './aggregate.js';
import { laneEvidence, stageEvidence, type HostClause, type LinkFigure } from './evidence.js';
import { loadPct } from './link.js';
import type { GpuStage, HostInput, HostReport, ProcStage, Report, ReportInput, ReportRun, StageReport, TimeShares } from './report-types.js';
import { labelOf, offloadStage } from './rules.js';
import { fillSlots, SLOT_COUNT } from './slots.js';
import { isSpanMark } from './span-pairs.js';
import { buildStages, type MarkLike, type StageInterval } from './stages.js';
import { drivingPids, hostModel, LaneCells, pidGpu, type HostModel, type LaneTime } from './states.js';
import { max, round, summarize, type Summary } from './stats.js';
import { STATES, type Label, type Shares, type State, type Thresholds } from './thresholds.js';

export type * from './report-types.js';

/** Feeds one host's readings in time order, then builds its report. */
export interface HostBuilder {
  add(h: ReadingHead, v: Float64Array): void;
  finish(): HostReport;
}

/** A report builder for one host; lastSampleT closes stages that never ended. */
export function hostBuilder(h: HostInput, run: ReportRun, lastSampleT: number | null, th: Thresholds): HostBuilder {
  const endOfData = h.marks.reduce((a, m) => Math.max(a, m.t), Math.max(lastSampleT ?? 0, run.endedAt ?? 0));
  // Spans (marks with timing) are summarised per step by breakdown.ts, never listed as stages.
  const { stages, problems } = buildStages(preferExplicit(h.marks.filter((m) => !isSpanMark(m))), endOfData);
  const reported = stages.filter((s) => !(s.step !== undefined && s.depth > 0));
  const agg = new HostAggregator(reported, th);
  return {
    add: (head, v) => agg.add(head, v),
    finish: () => finishHost(h, stages, reported, problems, agg.finish(), th),
  };
}

/** The report from samples in memory (tests, small runs); the store streams through hostBuilder. */
export function buildReport(input: ReportInput, th: Thresholds): Report {
  const v = new Float64Array(SLOT_COUNT);
  const hosts = input.hosts.map((h) => {
    const b = hostBuilder(h, input.run, h.samples.reduce((a, s) => Math.max(a, s.t), 0), th);
    for (const s of h.samples) {
      fillSlots(s.m, v);
      b.add({ t: s.t, source: s.source, gpu: s.gpu, dur: s.dur_ms, pid: s.pid }, v);
    }
    return b.finish();
  });
  return { run: { ...input.run, hosts: input.hosts.map((h) => h.host) }, thresholds: th, hosts };
}

const EMPTY_TIME: LaneTime = { ms: Object.fromEntries(STATES.map((s) => [s, 0])) as Record<State, number>, coveredMs: 0, offloadMs: 0 };

function finishHost(h: HostInput, all: readonly StageInterval[], reported: readonly StageInterval[], problems: string[], agg: Aggregated, th: Thresholds): HostReport {
  const model = hostModel(agg);
  const idx = new Set<number>([...h.gpus.map((g) => g.index), ...agg.gpus]);
  const gpus = [...idx].sort((a, b) => a - b).map((index) => ({ index, name: h.gpus.find((g) => g.index === index)?.name ?? 'unknown GPU' }));
  const lanes = new Map(gpus.filter((g) => agg.gpuGrids.has(g.index)).map((g) => [g.index, new LaneCells(agg, model, g.index, th)]));
  const hostLane = new LaneCells(agg, model, null, th);
  const times = reported.map((s) => new Map([...lanes].map(([g, lane]) => [g, lane.time(s.start, s.end)])));
  const participants = participating(model, [...lanes.keys()], times);
  const gauges = h.marks.filter((m) => m.gauges).map((m) => ({ t: m.t, g: m.gauges as Record<string, number> }));
  const ctx: StageCtx = { agg, model, th, gpm: agg.has.gpm, participants, hostLane };
  const stages = reported.map((s, i) => stageReport(s, all, agg.stages[i] as StageAcc, times[i] as Map<number, LaneTime>, gpus, gauges, ctx));
  const gpm = agg.has.gpm;
  return { host: h.host, gpus, gpm, sm_activity: h.smActivity ?? (gpm ? 'gpm' : 'none'), fingerprint: h.fingerprint ?? { host: null, workload: null }, host_bound_from: model.source, stages, problems };
}

/**
 * GPUs whose time makes a stage's label: those the workload's processes run on where processes
 * map to GPUs, else those not idle all run (an unused GPU on the host would outvote the rest).
 */
function participating(model: HostModel, gpus: readonly number[], times: ReadonlyArray<Map<number, LaneTime>>): Set<number> {
  if (model.source === 'process threads' && model.mappedBy !== 'busiest process') {
    const mapped = gpus.filter((g) => drivingPids(model, g).length > 0);
    if (mapped.length > 0) return new Set(mapped);
  }
  const busy = gpus.filter((g) => times.some((t) => STATES.some((s) => s !== 'idle' && (t.get(g)?.ms[s] ?? 0) > 0)));
  return new Set(busy.length > 0 ? busy : gpus);
}

interface StageCtx {
  agg: Aggregated;
  model: HostModel;
  th: Thresholds;
  gpm: boolean;
  participants: Set<number>;
  hostLane: LaneCells;
}

function timeShares(t: LaneTime, durationS: number, lanes = 1): TimeShares {
  const shares = Object.fromEntries(STATES.map((s) => [s, t.coveredMs > 0 ? round(t.ms[s] / t.coveredMs, 3) : 0])) as Shares;
  const covered = t.coveredMs / lanes / 1000;
  return { shares, covered_s: round(covered, 3), no_data_s: round(Math.max(0, durationS - covered), 3) };
}

function hostClause(acc: StageAcc, ctx: StageCtx, gpu: number | null): HostClause | null {
  const { model } = ctx;
  if (model.source === 'process threads') {
    let best: HostClause | null = null;
    for (const pid of drivingPids(model, gpu)) {
      const m = acc.pids.get(pid)?.[P.thread]?.mean() ?? null;
      if (m === null || (best?.kind === 'process' && best.threadPct >= m)) continue;
      best = { kind: 'process', pid, rank: ctx.agg.pids.find((p) => p.pid === pid)?.rank ?? null, threadPct: m, mapped: gpu !== null && model.mappedBy !== 'busiest process' };
    }
    return best;
  }
  const v = model.source === 'workload threads' ? acc.proc[P.thread] : model.source === 'workload cores' ? acc.proc[P.cores] : acc.host[H.coreMax];
  const m = v?.mean() ?? null;
  if (m === null) return null;
  return model.source === 'workload threads' ? { kind: 'workload threads', threadPct: m } : model.source === 'workload cores' ? { kind: 'workload cores', cores: m } : { kind: 'busiest host core', pct: m };
}

const sumOrNull = (a: number | null, b: number | null): number | null => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));
const busier = (rx: number | null, tx: number | null): number | null => (rx === null && tx === null ? null : Math.max(rx ?? 0, tx ?? 0));
const link = (rx: number | null, tx: number | null, cap: number | null): LinkFigure | null => {
  const mibps = busier(rx, tx);
  return mibps === null ? null : { mibps, loadPct: loadPct(rx, tx, cap) };
};

function gpuStage(index: number, acc: StageAcc, time: LaneTime, durationS: number, ctx: StageCtx): GpuStage {
  const st = acc.gpus.get(index);
  const mean = (k: number): number | null => st?.[k]?.mean() ?? null;
  const cap = ctx.agg.capacity.get(index);
  const [nvlRx, nvlTx, pcieRx, pcieTx] = [mean(G.nvlRx), mean(G.nvlTx), mean(G.pcieRx), mean(G.pcieTx)];
  const ts = timeShares(time, durationS);
  const offShare = time.coveredMs > 0 ? time.offloadMs / time.coveredMs : 0;
  const offload = time.coveredMs > 0 && offloadStage(offShare, ctx.th) ? { share: round(offShare, 3), h2d_mibps: pcieRx ?? 0 } : null;
  const bottleneck: Label = time.coveredMs > 0 ? labelOf(ts.shares, ctx.th) : 'no-data';
  const power = st?.[G.power];
  const [util, sm, tensor] = [st?.[G.util]?.summary() ?? null, st?.[G.sm]?.summary() ?? null, st?.[G.tensor]?.summary() ?? null];
  const nvlink = link(nvlRx, nvlTx, cap?.nvlink ?? null);
  const pcie = link(pcieRx, pcieTx, cap?.pcie ?? null);
  const evidence = time.coveredMs <= 0 ? `GPU ${index}: no samples in this stage` : laneEvidence({
    who: `GPU ${index}`,
    label: bottleneck,
    shares: ts.shares,
    noDataS: ts.no_data_s,
    gpm: ctx.gpm,
    sm: sm?.mean ?? null,
    util: util?.mean ?? null,
    tensor: tensor?.mean ?? null,
    nvlink,
    pcie,
    host: hostClause(acc, ctx, index),
    diskMibps: sumOrNull(acc.host[H.diskR]?.mean() ?? null, acc.host[H.diskW]?.mean() ?? null),
    offload: offload ? { share: offload.share, h2dMibps: offload.h2d_mibps } : null,
    majorityShare: ctx.th.majorityShare,
  });
  return {
    index,
    util_pct: util,
    sm_active_pct: sm,
    tensor_active_pct: tensor,
    mem_used_mib: { max: st?.[G.mem]?.max() ?? null },
    power_w: { mean: mean(G.power) },
    // W x ms: millijoules.
    energy_j: power && power.weight > 0 ? round(power.integral() / 1000, 1) : null,
    nvlink_rx_mibps: nvlRx,
    nvlink_tx_mibps: nvlTx,
    pcie_rx_mibps: pcieRx,
    pcie_tx_mibps: pcieTx,
    nvlink_capacity_mibps: cap?.nvlink != null ? round(cap.nvlink, 0) : null,
    pcie_capacity_mibps: cap?.pcie != null ? round(cap.pcie, 0) : null,
    nvlink_load_pct: nvlink?.loadPct != null ? round(nvlink.loadPct, 1) : null,
    pcie_load_pct: pcie?.loadPct != null ? round(pcie.loadPct, 1) : null,
    ...ts,
    offload,
    bottleneck,
    evidence,
  };
}

function stageReport(s: StageInterval, all: readonly StageInterval[], acc: StageAcc, times: Map<number, LaneTime>, gpus: ReadonlyArray<{ index: number }>, gauges: ReadonlyArray<{ t: number; g: Record<string, number> }>, ctx: StageCtx): StageReport {
  const durationS = round((s.end - s.start) / 1000, 3);
  const gpuStages = gpus.map(({ index }) => gpuStage(index, acc, times.get(index) ?? EMPTY_TIME, durationS, ctx));
  // GPUs with data in this stage that take part in labels; without any, the host alone.
  const inLabel = gpuStages.filter((g) => ctx.participants.has(g.index) && (times.get(g.index)?.coveredMs ?? 0) > 0);
  const leftOut = gpuStages.filter((g) => !ctx.participants.has(g.index) && (times.get(g.index)?.coveredMs ?? 0) > 0).map((g) => g.index);
  let combined: TimeShares;
  let bottleneck: Label;
  let evidence: string;
  if (inLabel.length > 0) {
    const sum: LaneTime = { ms: { ...EMPTY_TIME.ms }, coveredMs: 0, offloadMs: 0 };
    for (const g of inLabel) {
      const t = times.get(g.index) as LaneTime;
      for (const k of STATES) sum.ms[k] += t.ms[k];
      sum.coveredMs += t.coveredMs;
    }
    combined = timeShares(sum, durationS, inLabel.length);
    bottleneck = labelOf(combined.shares, ctx.th);
    evidence = stageEvidence(bottleneck, combined.shares, inLabel.map((g) => g.evidence), leftOut, false);
  } else {
    const t = ctx.hostLane.time(s.start, s.end);
    combined = timeShares(t, durationS);
    bottleneck = t.coveredMs > 0 ? labelOf(combined.shares, ctx.th) : 'no-data';
    const diskMibps = sumOrNull(acc.host[H.diskR]?.mean() ?? null, acc.host[H.diskW]?.mean() ?? null);
    const lane = t.coveredMs > 0 ? laneEvidence({ who: 'host', label: bottleneck, shares: combined.shares, noDataS: combined.no_data_s, gpm: ctx.gpm, sm: null, util: null, tensor: null, nvlink: null, pcie: null, host: hostClause(acc, ctx, null), diskMibps, offload: null, majorityShare: ctx.th.majorityShare }) : 'no samples cover this stage';
    evidence = stageEvidence(bottleneck, combined.shares, [lane], [], true);
  }
  const inStage = gauges.filter((x) => x.t >= s.start && x.t <= s.end);
  const reserved = inStage.map((x) => x.g.torch_reserved_mib).filter((v): v is number => v !== undefined);
  const allocated = inStage.map((x) => x.g.torch_allocated_mib).filter((v): v is number => v !== undefined);
  const steps = all.filter((c) => c.step !== undefined && c.depth === s.depth + 1 && c.start >= s.start && c.end <= s.end);
  const slowest = steps.reduce<StageInterval | null>((a, c) => (a === null || c.end - c.start > a.end - a.start ? c : a), null);
  const procs: ProcStage[] = [...acc.pids]
    .sort(([a], [b]) => a - b)
    .map(([pid, w]) => {
      const p = ctx.agg.pids.find((x) => x.pid === pid);
      const gpu = p ? pidGpu(p, ctx.agg.gpus) : null;
      return { pid, rank: p?.rank ?? null, gpu_index: gpu, thread_max_pct: { mean: w[P.thread]?.mean() ?? null, max: w[P.thread]?.max() ?? null }, cpu_cores: { mean: w[P.cores]?.mean() ?? null } };
    });
  const hs = acc.host;
  return {
    name: s.name,
    depth: s.depth,
    start_ms: Math.round(s.start),
    end_ms: Math.round(s.end),
    duration_s: durationS,
    samples: acc.samples,
    unterminated: s.unterminated,
    inferred: s.inferred ?? null,
    steps: slowest
      ? {
          stage: slowest.name,
          count: steps.length,
          inferred: steps.filter((c) => c.inferred !== undefined).length,
          duration_s: summarize(steps.map((c) => (c.end - c.start) / 1000)) as Summary,
          slowest: { step: slowest.step as number, duration_s: round((slowest.end - slowest.start) / 1000, 3) },
        }
      : null,
    gpus: gpuStages,
    host: {
      cpu_pct: { mean: hs[H.cpu]?.mean() ?? null },
      cpu_core_max_pct: { mean: hs[H.coreMax]?.mean() ?? null, max: hs[H.coreMax]?.max() ?? null },
      disk_read_mibps: { mean: hs[H.diskR]?.mean() ?? null, max: hs[H.diskR]?.max() ?? null },
      disk_write_mibps: { mean: hs[H.diskW]?.mean() ?? null },
    },
    proc: {
      cpu_cores: { mean: acc.proc[P.cores]?.mean() ?? null, max: acc.proc[P.cores]?.max() ?? null },
      thread_max_pct: { mean: acc.proc[P.thread]?.mean() ?? null, max: acc.proc[P.thread]?.max() ?? null },
      rss_mib: { max: acc.proc[P.rss]?.max() ?? null },
    },
    procs,
    workload: reserved.length + allocated.length > 0 ? { torch_reserved_mib: { max: max(reserved) }, torch_allocated_mib: { max: max(allocated) } } : null,
    ...combined,
    label_gpus: inLabel.map((g) => g.index),
    bottleneck,
    evidence,
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
