import type { GpuMetric } from '@stagewatch/shared';
import { GPM_COLUMNS } from '../nvidia-smi/dmon.js';
import { CostPacer } from '../samplers/pacer.js';
import { CONSTANTS, GPM_SLOTS, NVML_SUCCESS, type NvmlApi } from './bindings.js';

/** What tells compute from communication comes first: SM and tensor activity, DRAM, then the links. */
export const GPM_PRIORITY: readonly number[] = [2, 5, 10, 61, 60, 20, 21, 1, 3];
/**
 * CPU GPM may take per GPU, as a share of one core (0.35 %). With the ~1.6 ms per
 * nvmlGpmMetricsGet measured on an H100 that is a 500 ms window at 10 Hz; cheaper gets (fewer
 * metrics, another driver) shorten it down to the sampling interval.
 */
export const GPM_BUDGET_SHARE = 0.0035;
/** NVML computes GPM metrics over windows of 100 ms or more. */
export const GPM_MIN_WINDOW_MS = 100;
/** Never wider than the one-second windows nvidia-smi dmon gives. */
export const GPM_MAX_WINDOW_MS = 1000;

export interface GpmCalibration {
  /** What a get costs whatever it asks for, and what each metric adds, in ms. */
  fixedMs: number;
  perMetricMs: ReadonlyMap<number, number>;
}

export interface GpmGroup {
  ids: number[];
  budgetShare: number;
  seedMs: number | null;
}

/**
 * From one get per metric alone (`singleMs`) and one get of them all (`allMs`): the fixed part is
 * what the singles paid more than the all-in-one get, spread over the extra gets.
 */
export function calibrate(singleMs: ReadonlyMap<number, number>, allMs: number): GpmCalibration {
  const n = singleMs.size;
  const sum = [...singleMs.values()].reduce((a, b) => a + b, 0);
  const fixedMs = n > 1 ? Math.max(0, (sum - allMs) / (n - 1)) : 0;
  return { fixedMs, perMetricMs: new Map([...singleMs].map(([id, ms]) => [id, Math.max(0, ms - fixedMs)])) };
}

/**
 * Splits the metrics into at most two gets. When all of them fit the per-tick budget: one get
 * every tick. Otherwise the longest prefix (by GPM_PRIORITY) whose get fits 60 % of the budget
 * is read every tick and the rest share what is left, at a wider window; when the fixed cost of a
 * get alone exceeds that, one get of everything at the window the budget allows.
 */
export function planGpm(ids: readonly number[], cal: GpmCalibration | null, tickMs: number, budgetShare: number): GpmGroup[] {
  const ordered = [...ids].sort((a, b) => rank(a) - rank(b));
  if (!cal) return [{ ids: ordered, budgetShare, seedMs: null }];
  const cost = (xs: readonly number[]): number => cal.fixedMs + xs.reduce((a, id) => a + (cal.perMetricMs.get(id) ?? 0), 0);
  const perTick = budgetShare * tickMs;
  const all = cost(ordered);
  if (all <= perTick) return [{ ids: ordered, budgetShare, seedMs: all }];
  let n = 0;
  while (n < ordered.length && cost(ordered.slice(0, n + 1)) <= 0.6 * perTick) n++;
  if (n === 0 || n === ordered.length) return [{ ids: ordered, budgetShare, seedMs: all }];
  const fast = ordered.slice(0, n);
  const slow = ordered.slice(n);
  const fastShare = cost(fast) / tickMs;
  return [
    { ids: fast, budgetShare: fastShare, seedMs: cost(fast) },
    { ids: slow, budgetShare: budgetShare - fastShare, seedMs: cost(slow) },
  ];
}

function rank(id: number): number {
  const i = GPM_PRIORITY.indexOf(id);
  return i < 0 ? GPM_PRIORITY.length + id : i;
}

export interface GpmReading {
  t: number;
  durMs: number;
  m: Record<string, number>;
  absent: Record<string, string>;
}

interface Group {
  ids: number[];
  pacer: CostPacer;
  start: { h: unknown; at: number };
}

const metricOf = new Map(GPM_COLUMNS.map((c) => [c.id, c.metric] as const));

/** How far a GPM sample's driver time may be from the tick that took it: a refresh is 100 ms old at most, plus slack. */
const MAX_SAMPLE_AGE_MS = 2000;
/**
 * How much older a refresh's counters are than its time. The GPU collects them on a cadence of its
 * own and each process's refreshes fall somewhere against it: fitted against 300 ms bursts of
 * matmuls on the H100 (driver 580; test/gpu/gpm_timing.py), the lag was 28, 30, 40, 64, 76 and 88 ms in
 * six processes (docs/gpu-run-h100/gpm-timing/). 60 is the middle of that range, within 32 ms of
 * each; the call-time stamps it replaces were 50-150 ms late.
 */
export const GPM_COUNTER_LAG_MS = 60;

/**
 * GPM of one GPU at the sampling interval, within GPM_BUDGET_SHARE: a GPM sample each tick where
 * a get is due, metrics from two samples, stamped t = end of the window with dur_ms its length.
 * The window is the driver's: its counters are refreshed every 100 ms and a sample holds the
 * latest refresh, whose time the sample carries (bindings.ts, gpmSampleTimeUs); the counters
 * cover up to GPM_COUNTER_LAG_MS before that time. Stamped at the calls instead, readings lagged
 * the work by 50-150 ms, and two
 * ticks inside one refresh gave a 0 amid steady compute (test/fixtures/phases-h100/, the capture
 * before this). A group whose new sample is still its start's refresh waits a tick. Where the
 * driver's time cannot be read, windows are stamped at the calls, and describe() says so.
 * Samples are pooled: each group keeps the sample its window started at.
 */
export class GpmReader {
  private readonly pool = new Map<unknown, number>();
  private groups: Group[] | null = null;
  private first: { h: unknown; at: number } | null = null;
  private plan = 'not calibrated yet';
  private failures = 0;
  /** Whose clock stamps the windows: the driver's refresh times once checked, else the calls'. */
  private stamp: 'driver' | 'call' | null = null;
  private stampNote = '';

  constructor(
    private readonly api: NvmlApi,
    private readonly handle: unknown,
    private readonly ids: readonly number[],
    private readonly tickMs: number,
    private readonly opts: { budgetShare?: number; log?: (msg: string) => void; clock?: () => number } = {},
  ) {
    this.budgetShare = opts.budgetShare ?? GPM_BUDGET_SHARE;
    this.clock = opts.clock ?? (() => performance.now());
  }

  private readonly budgetShare: number;
  private readonly clock: () => number;

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  private acquire(): unknown {
    for (const [h, refs] of this.pool) {
      if (refs === 0) {
        this.pool.set(h, 1);
        return h;
      }
    }
    const out: unknown[] = [null];
    if (Number(this.api.call.gpmAlloc?.(out)) !== NVML_SUCCESS) return null;
    this.pool.set(out[0], 1);
    return out[0];
  }

  private ref(h: unknown, by: number): void {
    this.pool.set(h, (this.pool.get(h) ?? 0) + by);
  }

  /** One get of `ids` between two samples; its wall time in ms. */
  private get(s1: unknown, s2: unknown, ids: readonly number[]): { ms: number; m: Record<string, number>; absent: Record<string, string> } | null {
    const req = {
      version: CONSTANTS.NVML_GPM_METRICS_GET_VERSION,
      numMetrics: ids.length,
      sample1: s1,
      sample2: s2,
      metrics: Array.from({ length: GPM_SLOTS }, (_, i) => ({ metricId: ids[i] ?? 0, nvmlReturn: 0, value: 0, shortName: null, longName: null, unit: null })),
    };
    const t0 = this.clock();
    const rc = Number(this.api.call.gpmMetrics?.(req));
    const ms = this.clock() - t0;
    if (rc !== NVML_SUCCESS) return null;
    const m: Record<string, number> = {};
    const absent: Record<string, string> = {};
    ids.forEach((id, i) => {
      const metric = metricOf.get(id) as GpuMetric;
      const r = req.metrics[i] as { nvmlReturn: number; value: number };
      if (r.nvmlReturn === NVML_SUCCESS && Number.isFinite(r.value)) m[metric] = Math.round(r.value * 100) / 100;
      else absent[metric] = `[${this.api.errorString(r.nvmlReturn)}]`;
    });
    return { ms, m, absent };
  }

  /** Times each metric alone and all together (best of two), plans the groups, and returns the all-in-one reading. */
  private calibrate(s1: unknown, s2: unknown): ReturnType<GpmReader['get']> {
    let all: ReturnType<GpmReader['get']> = null;
    const single = new Map<number, number>();
    for (let round = 0; round < 2; round++) {
      const a = this.get(s1, s2, this.ids);
      if (!a) return null;
      if (!all || a.ms < all.ms) all = a;
      for (const id of this.ids) {
        const r = this.get(s1, s2, [id]);
        if (r) single.set(id, Math.min(single.get(id) ?? Infinity, r.ms));
      }
    }
    const cal = single.size === this.ids.length && all ? calibrate(single, all.ms) : null;
    const plan = planGpm(this.ids, cal, this.tickMs, this.budgetShare);
    this.groups = plan.map((g) => ({ ids: g.ids, pacer: new CostPacer(this.tickMs, g.budgetShare, GPM_MIN_WINDOW_MS, GPM_MAX_WINDOW_MS, g.seedMs), start: { h: s2, at: 0 } }));
    const cost = cal ? `${cal.fixedMs.toFixed(2)} ms a get + ${(([...cal.perMetricMs.values()].reduce((x, y) => x + y, 0)) / this.ids.length).toFixed(3)} ms a metric` : 'unknown';
    this.plan = `nvmlGpmMetricsGet ${all?.ms.toFixed(2)} ms for ${this.ids.length} metrics (${cost}); ${this.groups.map((g) => `[${g.ids.join(',')}] every ${g.pacer.every() * this.tickMs} ms`).join(', ')}${this.stampNote}`;
    this.log(this.plan);
    return all;
  }

  private disable(why: string): void {
    this.groups = [];
    this.plan = `off: ${why}`;
    this.log(this.plan);
  }

  describe(): string {
    return this.plan;
  }

  /** The time a sample's counters stand for: the driver's refresh where it reads true, else the tick's. */
  private sampleTime(h: unknown, now: number): number | null {
    if (this.stamp === 'call') return now;
    const us = this.api.gpmSampleTimeUs(h);
    const ms = us === null ? null : us / 1000 - GPM_COUNTER_LAG_MS;
    const plausible = ms !== null && Number.isFinite(ms) && ms <= now + MAX_SAMPLE_AGE_MS && ms >= now - MAX_SAMPLE_AGE_MS;
    if (this.stamp === null) {
      this.stamp = plausible ? 'driver' : 'call';
      if (!plausible) this.stampNote = `; windows stamped at the calls (sample time ${us} µs is not near the tick, ${now} ms)`;
      return plausible ? ms : now;
    }
    return plausible ? ms : null;
  }

  tick(now: number): GpmReading[] {
    const due = this.groups ? this.groups.filter((g) => g.pacer.tick()) : [];
    if (this.groups && due.length === 0) return [];
    const h = this.acquire();
    if (h === null) return [];
    const at = Number(this.api.call.gpmGet?.(this.handle, h)) === NVML_SUCCESS ? this.sampleTime(h, now) : null;
    if (at === null) {
      this.ref(h, -1);
      return [];
    }
    const out: GpmReading[] = [];
    if (!this.groups) {
      const first = this.first;
      if (first && at - first.at < GPM_MIN_WINDOW_MS) {
        this.ref(h, -1); // still the first sample's refresh
        return out;
      }
      this.first = { h, at };
      if (!first) return out; // the window's start; `h` stays held by `first`
      const r = this.calibrate(first.h, h);
      this.ref(first.h, -1);
      if (r) out.push({ t: Math.round(at), durMs: Math.round(at - first.at), m: r.m, absent: r.absent });
      else if (++this.failures >= 3) this.disable('nvmlGpmMetricsGet failed three times');
      // calibrate() set the groups (TypeScript still sees the narrowing above).
      for (const g of (this.groups as Group[] | null) ?? []) {
        g.start = { h, at };
        g.pacer.begin();
        this.ref(h, 1);
      }
      this.first = null;
      this.ref(h, -1);
      return out;
    }
    for (const g of due) {
      if (at <= g.start.at) {
        g.pacer.again(); // no refresh since the window began: ask next tick
        continue;
      }
      const r = this.get(g.start.h, h, g.ids);
      if (r) {
        g.pacer.record(r.ms);
        out.push({ t: Math.round(at), durMs: Math.round(at - g.start.at), m: r.m, absent: r.absent });
      }
      this.ref(g.start.h, -1);
      g.start = { h, at };
      this.ref(h, 1);
    }
    this.ref(h, -1);
    return out;
  }

  release(): void {
    for (const h of this.pool.keys()) this.api.call.gpmFree?.(h);
    this.pool.clear();
    this.groups = null;
    this.first = null;
  }
}
