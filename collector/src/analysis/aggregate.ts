/**
 * One host's samples folded into per-stage statistics and state grids as they are read, so a
 * report never holds the run's samples in memory. Each reading covers [t - dur_ms, t]; readings
 * from older agents (no dur_ms) cover the gap to their series' previous reading, capped.
 */
import type { SampleSource } from '@stagewatch/shared';
import { Grid } from './grid.js';
import { pcieCapacityMibps } from './link.js';
import { GPM_ONLY_SLOTS, GPM_SLOTS, SLOT, SLOT_COUNT } from './slots.js';
import { StageSweep } from './sweep.js';
import type { Thresholds } from './thresholds.js';
import { Weighted } from './weighted.js';

export interface ReadingHead {
  t: number;
  source: SampleSource;
  gpu?: number | undefined;
  dur?: number | undefined;
  pid?: number | undefined;
  /**
   * A roll-up reading's (store/retention/): each slot's max over the readings it stands for (NaN
   * where none), so a stage's max is the readings' max, not the largest mean. Absent for readings.
   */
  hi?: Float64Array | undefined;
}

/** Statistic slots per GPU, host, workload tree and workload process. */
export const G = { util: 0, sm: 1, tensor: 2, mem: 3, power: 4, nvlRx: 5, nvlTx: 6, pcieRx: 7, pcieTx: 8 } as const;
const GPU_STATS = [SLOT.util_pct, SLOT.sm_active_pct, SLOT.tensor_active_pct, SLOT.mem_used_mib, SLOT.power_w, SLOT.nvlink_rx_mibps, SLOT.nvlink_tx_mibps, SLOT.pcie_rx_mibps, SLOT.pcie_tx_mibps];
const GPU_P95 = new Set<number>([G.util, G.sm, G.tensor]);
export const H = { cpu: 0, coreMax: 1, diskR: 2, diskW: 3 } as const;
const HOST_STATS = [SLOT.cpu_pct, SLOT.cpu_core_max_pct, SLOT.disk_read_mibps, SLOT.disk_write_mibps];
export const P = { cores: 0, rss: 1, thread: 2 } as const;
const PROC_STATS = [SLOT.cpu_cores, SLOT.rss_mib, SLOT.thread_max_pct];

export interface StageAcc {
  /** Readings stamped inside the stage. */
  samples: number;
  gpus: Map<number, Weighted[]>;
  host: Weighted[];
  /** The workload tree (proc samples without pid). */
  proc: Weighted[];
  /** Each workload process (proc samples with pid). */
  pids: Map<number, Weighted[]>;
}

export interface GpuGrids {
  util: Grid;
  sm: Grid;
  nvlRx: Grid;
  nvlTx: Grid;
  pcieRx: Grid;
  pcieTx: Grid;
}
export interface HostGrids {
  coreMax: Grid;
  diskR: Grid;
  diskW: Grid;
  treeCores: Grid;
  treeThread: Grid;
  pids: Map<number, Grid>;
}

export interface Aggregated {
  /** In the order of the stages given. */
  stages: StageAcc[];
  gpuGrids: Map<number, GpuGrids>;
  host: HostGrids;
  /** Largest capacity seen per GPU (PCIe drops its generation when idle; capacity is what it can carry). */
  capacity: Map<number, { nvlink: number | null; pcie: number | null; pcieFrom: 'agent' | 'gen x width' | null }>;
  /** Workload processes: rank (last seen) and the GPU they ran on most. */
  pids: Array<{ pid: number; rank: number | null; gpuIndex: number | null }>;
  has: { pidSamples: boolean; treeThread: boolean; treeCores: boolean; gpm: boolean };
  gpus: Set<number>;
}

/** Whether any of the slots holds a value (a loop, not some(): no closure per reading). */
function anyOf(v: Float64Array, slots: readonly number[]): boolean {
  for (let k = 0; k < slots.length; k++) if (!Number.isNaN(v[slots[k] as number] as number)) return true;
  return false;
}
const newStats = (n: number, p95: ReadonlySet<number> = new Set()): Weighted[] => Array.from({ length: n }, (_, i) => new Weighted(p95.has(i)));
const HORIZON_MS = 60_000;
const SOURCE_CODE: Record<SampleSource, number> = { gpu: 0, host: 1, proc: 2 };
const IS_GPM = new Uint8Array(SLOT_COUNT);
for (const i of GPM_SLOTS) IS_GPM[i] = 1;

/** A reading's metric into its grid over [a, b), where present and of the kind this pass takes (GPM or not). */
function put(grid: Grid, v: Float64Array, slot: number, a: number, b: number, gpm: boolean, base: boolean): void {
  const x = v[slot] as number;
  if (x === x && (IS_GPM[slot] === 1 ? gpm : base)) grid.add(a, b, x);
}

export class HostAggregator {
  private readonly accs: StageAcc[];
  private readonly starts: number[];
  private readonly ends: number[];
  private readonly sweep: StageSweep;
  private readonly lastT = new Map<number, number>();
  private readonly pending = new Map<number, { h: ReadingHead; v: Float64Array }>();
  private readonly gpuGrids = new Map<number, GpuGrids>();
  private readonly host: HostGrids;
  private readonly capacity: Aggregated['capacity'] = new Map();
  private readonly pidInfo = new Map<number, { rank: number | null; gpus: Map<number, number> }>();
  private readonly has = { pidSamples: false, treeThread: false, treeCores: false, gpm: false };
  private readonly gpus = new Set<number>();

  /** stages: [start, end) intervals sorted by start. */
  constructor(
    stages: ReadonlyArray<{ start: number; end: number }>,
    private readonly th: Thresholds,
  ) {
    this.accs = stages.map(() => ({ samples: 0, gpus: new Map(), host: newStats(HOST_STATS.length), proc: newStats(PROC_STATS.length), pids: new Map() }));
    this.starts = stages.map((s) => s.start);
    this.ends = stages.map((s) => s.end);
    this.sweep = new StageSweep(this.starts, this.ends, HORIZON_MS);
    const g = (): Grid => new Grid(th.gridMs);
    this.host = { coreMax: g(), diskR: g(), diskW: g(), treeCores: g(), treeThread: g(), pids: new Map() };
  }

  /** One reading; v holds its metrics by slot (NaN where absent). v may be reused by the caller. */
  add(h: ReadingHead, v: Float64Array): void {
    if (h.source === 'gpu' && h.gpu !== undefined) this.gpus.add(h.gpu);
    if (h.dur !== undefined) return this.ingest(h, v, h.dur);
    // Older agents: the gap to the series' previous reading; a series' first reading waits for its second.
    const gpm = anyOf(v, GPM_ONLY_SLOTS) ? 1 : 0;
    // One number per series: pid, gpu (+1; 0 for none), source, GPM or not.
    const key = (((h.pid ?? 0) * 4096 + (h.gpu ?? -1) + 1) * 4 + SOURCE_CODE[h.source]) * 2 + gpm;
    const prev = this.lastT.get(key);
    this.lastT.set(key, h.t);
    if (prev === undefined) {
      this.pending.set(key, { h: { ...h, hi: h.hi?.slice() }, v: v.slice() });
      return;
    }
    const dur = Math.min(this.th.readingGapCapMs, h.t - prev);
    const first = this.pending.get(key);
    if (first) {
      this.pending.delete(key);
      this.ingest(first.h, first.v, dur);
    }
    this.ingest(h, v, dur);
  }

  finish(): Aggregated {
    // A series with one reading: nothing tells its interval, so it gets the cap.
    for (const { h, v } of this.pending.values()) this.ingest(h, v, this.th.readingGapCapMs);
    this.pending.clear();
    const pids = [...this.pidInfo].map(([pid, p]) => {
      let gpuIndex: number | null = null;
      let best = 0;
      for (const [g, n] of p.gpus) if (n > best) [gpuIndex, best] = [g, n];
      return { pid, rank: p.rank, gpuIndex };
    });
    return { stages: this.accs, gpuGrids: this.gpuGrids, host: this.host, capacity: this.capacity, pids, has: this.has, gpus: this.gpus };
  }

  private ingest(h: ReadingHead, v: Float64Array, dur: number): void {
    // A zero-length reading still stands for its instant: give it 1 ms.
    const d = Math.max(1, dur);
    const lag = this.th.gpmLagMs;
    if (h.source === 'gpu') this.noteGpu(h.gpu as number, v);
    if (h.source === 'proc') this.noteProc(h, v);
    if (lag > 0 && h.source === 'gpu' && anyOf(v, GPM_SLOTS)) {
      this.interval(h, v, h.t - d, h.t, false, true);
      this.interval(h, v, h.t - d - lag, h.t - lag, true, false);
    } else {
      this.interval(h, v, h.t - d, h.t, true, true);
    }
  }

  private interval(h: ReadingHead, v: Float64Array, a: number, b: number, gpm: boolean, base: boolean): void {
    const sw = this.sweep;
    const n = sw.query(a, b);
    if (base) for (let k = 0; k < sw.atCount; k++) (this.accs[sw.at[k] as number] as StageAcc).samples++;
    if (n === 0) return;
    const slots = h.source === 'gpu' ? GPU_STATS : h.source === 'host' ? HOST_STATS : PROC_STATS;
    for (let k = 0; k < n; k++) {
      const i = sw.overlap[k] as number;
      const w = Math.min(b, this.ends[i] as number) - Math.max(a, this.starts[i] as number);
      const stats = this.statsFor(this.accs[i] as StageAcc, h);
      const hi = h.hi;
      for (let j = 0; j < slots.length; j++) {
        const slot = slots[j] as number;
        const x = v[slot] as number;
        // x === x: not NaN, the metric is in this reading.
        if (x === x && (IS_GPM[slot] === 1 ? gpm : base)) (stats[j] as Weighted).add(x, w, hi === undefined || Number.isNaN(hi[slot]) ? x : (hi[slot] as number));
      }
    }
    this.feedGrids(h, v, a, b, gpm, base);
  }

  private statsFor(acc: StageAcc, h: ReadingHead): Weighted[] {
    if (h.source === 'host') return acc.host;
    if (h.source === 'proc') {
      if (h.pid === undefined) return acc.proc;
      let p = acc.pids.get(h.pid);
      if (!p) acc.pids.set(h.pid, (p = newStats(PROC_STATS.length)));
      return p;
    }
    let g = acc.gpus.get(h.gpu as number);
    if (!g) acc.gpus.set(h.gpu as number, (g = newStats(GPU_STATS.length, GPU_P95)));
    return g;
  }

  private feedGrids(h: ReadingHead, v: Float64Array, a: number, b: number, gpm: boolean, base: boolean): void {
    if (h.source === 'gpu') {
      const g = this.gridsOf(h.gpu as number);
      put(g.util, v, SLOT.util_pct, a, b, gpm, base);
      put(g.sm, v, SLOT.sm_active_pct, a, b, gpm, base);
      put(g.nvlRx, v, SLOT.nvlink_rx_mibps, a, b, gpm, base);
      put(g.nvlTx, v, SLOT.nvlink_tx_mibps, a, b, gpm, base);
      put(g.pcieRx, v, SLOT.pcie_rx_mibps, a, b, gpm, base);
      put(g.pcieTx, v, SLOT.pcie_tx_mibps, a, b, gpm, base);
    } else if (h.source === 'host') {
      put(this.host.coreMax, v, SLOT.cpu_core_max_pct, a, b, gpm, base);
      put(this.host.diskR, v, SLOT.disk_read_mibps, a, b, gpm, base);
      put(this.host.diskW, v, SLOT.disk_write_mibps, a, b, gpm, base);
    } else if (h.pid === undefined) {
      put(this.host.treeCores, v, SLOT.cpu_cores, a, b, gpm, base);
      put(this.host.treeThread, v, SLOT.thread_max_pct, a, b, gpm, base);
    } else {
      let grid = this.host.pids.get(h.pid);
      if (!grid) this.host.pids.set(h.pid, (grid = new Grid(this.th.gridMs)));
      put(grid, v, SLOT.thread_max_pct, a, b, gpm, base);
    }
  }

  private gridsOf(gpu: number): GpuGrids {
    let g = this.gpuGrids.get(gpu);
    if (!g) {
      const n = (): Grid => new Grid(this.th.gridMs);
      this.gpuGrids.set(gpu, (g = { util: n(), sm: n(), nvlRx: n(), nvlTx: n(), pcieRx: n(), pcieTx: n() }));
    }
    return g;
  }

  private noteGpu(gpu: number, v: Float64Array): void {
    if (!Number.isNaN(v[SLOT.sm_active_pct] as number)) this.has.gpm = true;
    const nvl = v[SLOT.nvlink_capacity_mibps] as number;
    const agentPcie = v[SLOT.pcie_capacity_mibps] as number;
    const gen = v[SLOT.pcie_link_gen] as number;
    if (Number.isNaN(nvl) && Number.isNaN(agentPcie) && Number.isNaN(gen)) return;
    const derived = pcieCapacityMibps(gen, v[SLOT.pcie_link_width] as number);
    const c = this.capacity.get(gpu) ?? { nvlink: null, pcie: null, pcieFrom: null };
    if (!Number.isNaN(nvl) && nvl > (c.nvlink ?? 0)) c.nvlink = nvl;
    // The agent's own figure wins over one derived here from generation and width.
    if (!Number.isNaN(agentPcie) && (c.pcieFrom !== 'agent' || agentPcie > (c.pcie ?? 0))) Object.assign(c, { pcie: agentPcie, pcieFrom: 'agent' });
    else if (derived !== null && c.pcieFrom !== 'agent' && derived > (c.pcie ?? 0)) Object.assign(c, { pcie: derived, pcieFrom: 'gen x width' });
    this.capacity.set(gpu, c);
  }

  private noteProc(h: ReadingHead, v: Float64Array): void {
    if (h.pid === undefined) {
      if (!Number.isNaN(v[SLOT.thread_max_pct] as number)) this.has.treeThread = true;
      if (!Number.isNaN(v[SLOT.cpu_cores] as number)) this.has.treeCores = true;
      return;
    }
    this.has.pidSamples = true;
    let p = this.pidInfo.get(h.pid);
    if (!p) this.pidInfo.set(h.pid, (p = { rank: null, gpus: new Map() }));
    const rank = v[SLOT.rank] as number;
    if (!Number.isNaN(rank)) p.rank = rank;
    const gi = v[SLOT.gpu_index] as number;
    if (!Number.isNaN(gi)) p.gpus.set(gi, (p.gpus.get(gi) ?? 0) + 1);
  }
}
