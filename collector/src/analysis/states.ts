/**
 * Per-interval states on the time grid and their time per stage. A lane is one GPU, or the host
 * where a stage has no GPU data. Pure: reads the grids the aggregator filled.
 */
import type { Aggregated, GpuGrids } from './aggregate.js';
import { CHUNK } from './grid.js';
import { loadPct } from './link.js';
import { busyShare, cellClassifier, hostShareBeside, offloadCell, type CellFacts } from './rules.js';
import { STATES, type State, type Thresholds } from './thresholds.js';

/** Where the host-bound rule gets its figure, from the best data the run has. */
export type HostSource = 'process threads' | 'workload threads' | 'workload cores' | 'busiest host core';

export interface HostModel {
  source: HostSource;
  /** Processes whose busiest thread speaks for each GPU (process threads only). */
  driving: Map<number, number[]>;
  /** How processes were tied to GPUs: NVML's GPU index (RANK for those without), RANK alone, or not at all (the busiest process speaks for every GPU). */
  mappedBy: 'gpu index' | 'rank' | 'busiest process';
  allPids: number[];
}

/** Processes mapped to GPUs by NVML's GPU index, else by RANK equal to a GPU index, else none. */
export function hostModel(agg: Aggregated): HostModel {
  const source: HostSource = agg.has.pidSamples ? 'process threads' : agg.has.treeThread ? 'workload threads' : agg.has.treeCores ? 'workload cores' : 'busiest host core';
  const driving = new Map<number, number[]>();
  const byIndex = agg.pids.filter((p) => p.gpuIndex !== null);
  const byRank = agg.pids.filter((p) => p.rank !== null && agg.gpus.has(p.rank));
  const mappedBy = byIndex.length > 0 ? 'gpu index' : byRank.length > 0 ? 'rank' : 'busiest process';
  for (const p of agg.pids) {
    const gpu = pidGpu(p, agg.gpus);
    if (gpu === null) continue;
    driving.set(gpu, [...(driving.get(gpu) ?? []), p.pid]);
  }
  return { source, driving, mappedBy, allPids: agg.pids.map((p) => p.pid) };
}

/** A process's GPU: NVML's index where it has a context there, else its RANK where that names a GPU here. */
export function pidGpu(p: { rank: number | null; gpuIndex: number | null }, gpus: ReadonlySet<number>): number | null {
  return p.gpuIndex ?? (p.rank !== null && gpus.has(p.rank) ? p.rank : null);
}

/** The processes that speak for a GPU (null: the host lane), by the model's mapping. */
export function drivingPids(m: HostModel, gpu: number | null): number[] {
  if (m.source !== 'process threads') return [];
  if (gpu === null || m.mappedBy === 'busiest process') return m.allPids;
  return m.driving.get(gpu) ?? [];
}

export interface LaneTime {
  /** Milliseconds in each state. */
  ms: Record<State, number>;
  /** Milliseconds with data (the states' sum). */
  coveredMs: number;
  /** Covered milliseconds with host-to-device PCIe at the offload rate. */
  offloadMs: number;
}

const SLOTS = STATES.length + 2; // states, coverage, offload
const COVER = STATES.length;
const OFFLOAD = STATES.length + 1;
const COMPUTE = STATES.indexOf('compute');
const IDLE = STATES.indexOf('idle');
const HOST_BOUND = STATES.indexOf('host-bound');

/** Mean of chunk cell o, or null where no reading covers it. */
const at = (a: Float32Array | null, o: number): number | null => {
  if (a === null) return null;
  const w = a[CHUNK + o] as number;
  return w > 0 ? (a[o] as number) / w : null;
};
const wt = (a: Float32Array | null, o: number): number => (a === null ? 0 : (a[CHUNK + o] as number));
const maxOrNull = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
const sumOrNull = (a: number | null, b: number | null): number | null => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));
/** The busier direction of a link whose capacity is unknown (null where it is known or silent). */
const rateWithoutCap = (rx: number | null, tx: number | null, load: number | null): number | null => (load === null && (rx !== null || tx !== null) ? Math.max(rx ?? 0, tx ?? 0) : null);

/**
 * One lane's cell states, worked out once per chunk of cells and kept, so a parent stage and its
 * children read the same cells: a parent's time is its children's time plus its own uncovered time.
 */
export class LaneCells {
  private readonly chunks = new Map<number, Float32Array>();
  private readonly cellMs: number;
  private readonly classify: (f: CellFacts) => number;

  constructor(
    private readonly agg: Aggregated,
    private readonly model: HostModel,
    private readonly gpu: number | null,
    private readonly th: Thresholds,
  ) {
    this.cellMs = agg.host.coreMax.cellMs;
    this.classify = cellClassifier(th);
  }

  /** Time in each state over [start, end). */
  time(start: number, end: number): LaneTime {
    const acc = new Float64Array(SLOTS);
    const c = this.cellMs;
    const first = Math.floor(start / c);
    const last = Math.ceil(end / c) - 1;
    // Chunk by chunk, then plain loops over its cells: this runs for every cell of every stage
    // of every GPU. Only the first and last cells can be partly inside.
    for (let key = Math.floor(first / CHUNK); key <= Math.floor(last / CHUNK); key++) {
      const cells = this.chunk(key);
      const hi = Math.min(last, key * CHUNK + CHUNK - 1);
      for (let i = Math.max(first, key * CHUNK); i <= hi; i++) {
        const o = (i - key * CHUNK) * SLOTS;
        const cover = cells[o + COVER] as number;
        if (cover <= 0) continue;
        const w = (i === first || i === last ? Math.min(end, (i + 1) * c) - Math.max(start, i * c) : c) * cover;
        if (w <= 0) continue;
        for (let k = 0; k < STATES.length; k++) acc[k] = (acc[k] as number) + w * (cells[o + k] as number);
        acc[COVER] = (acc[COVER] as number) + w;
        acc[OFFLOAD] = (acc[OFFLOAD] as number) + w * (cells[o + OFFLOAD] as number);
      }
    }
    const ms = Object.fromEntries(STATES.map((s, k) => [s, acc[k] as number])) as Record<State, number>;
    return { ms, coveredMs: acc[COVER] as number, offloadMs: acc[OFFLOAD] as number };
  }

  /** The facts of every cell of one chunk, classified. */
  private chunk(key: number): Float32Array {
    const done = this.chunks.get(key);
    if (done) return done;
    const out = new Float32Array(CHUNK * SLOTS);
    this.chunks.set(key, out);
    const { agg, model, th, gpu } = this;
    const h = agg.host;
    const src = model.source;
    const pids = drivingPids(model, gpu).map((p) => h.pids.get(p)?.chunk(key) ?? null);
    const threadTree = src === 'workload threads' ? h.treeThread.chunk(key) : null;
    const cores = src === 'workload cores' ? h.treeCores.chunk(key) : null;
    const coreMax = h.coreMax.chunk(key);
    const [diskR, diskW] = [h.diskR.chunk(key), h.diskW.chunk(key)];
    const g: GpuGrids | undefined = gpu === null ? undefined : agg.gpuGrids.get(gpu);
    const [util, sm] = g ? [g.util.chunk(key), g.sm.chunk(key)] : [null, null];
    const [nvlRx, nvlTx, pcieRx, pcieTx] = g ? [g.nvlRx.chunk(key), g.nvlTx.chunk(key), g.pcieRx.chunk(key), g.pcieTx.chunk(key)] : [null, null, null, null];
    const cap = gpu === null ? undefined : agg.capacity.get(gpu);
    const hostOnlyCover = [coreMax, diskR, h.treeCores.chunk(key), h.treeThread.chunk(key), ...pids];
    const f: CellFacts = { sm: null, util: null, linkLoad: null, linkRate: null, thread: null, cores: null, coreMax: null, disk: null };
    // Figures this chunk has no readings of stay null without a look per cell.
    const links = nvlRx !== null || nvlTx !== null || pcieRx !== null || pcieTx !== null;
    const hostFigures = pids.some((p) => p !== null) || threadTree !== null || cores !== null || coreMax !== null || diskR !== null || diskW !== null;
    for (let o = 0; o < CHUNK; o++) {
      let cover = 0;
      if (g) {
        cover = Math.max(wt(util, o), wt(sm, o));
        if (cover <= 0) continue;
        f.sm = at(sm, o);
        f.util = at(util, o);
        if (links) {
          const nr = at(nvlRx, o);
          const nt = at(nvlTx, o);
          const pr = at(pcieRx, o);
          const pt = at(pcieTx, o);
          const nl = loadPct(nr, nt, cap?.nvlink ?? null);
          const pl = loadPct(pr, pt, cap?.pcie ?? null);
          f.linkLoad = maxOrNull(nl, pl);
          f.linkRate = maxOrNull(rateWithoutCap(nr, nt, nl), rateWithoutCap(pr, pt, pl));
          if (offloadCell(pr, th)) out[o * SLOTS + OFFLOAD] = 1;
        }
      } else {
        for (let k = 0; k < hostOnlyCover.length; k++) cover = Math.max(cover, wt(hostOnlyCover[k] as Float32Array | null, o));
        if (cover <= 0) continue;
      }
      if (hostFigures) {
        let thread: number | null = null;
        for (let k = 0; k < pids.length; k++) thread = maxOrNull(thread, at(pids[k] as Float32Array | null, o));
        f.thread = src === 'process threads' ? thread : at(threadTree, o);
        f.cores = at(cores, o);
        f.coreMax = src === 'busiest host core' ? at(coreMax, o) : null;
        f.disk = sumOrNull(at(diskR, o), at(diskW, o));
      }
      const state = this.classify(f);
      if (state >= 0 && state !== IDLE) out[o * SLOTS + state] = 1;
      else {
        // Idle by the rules, or no rule holds: kernels' share is compute, a busy host thread's
        // time beyond it host-bound (hostShareBeside), the rest idle; as classifyCell does.
        const busy = state >= 0 ? 0 : busyShare(f);
        const host = hostShareBeside(busy, f.thread, th);
        out[o * SLOTS + COMPUTE] = busy;
        out[o * SLOTS + HOST_BOUND] = host;
        out[o * SLOTS + IDLE] = 1 - busy - host;
      }
      out[o * SLOTS + COVER] = Math.min(1, cover / this.cellMs);
    }
    return out;
  }
}
