import type { SqliteStore, StoredSample } from '../store/sqlite.js';

/** One series on its own time grid: its bucket times (ms) and means, null where the line breaks. */
export interface Line {
  t: number[];
  v: Array<number | null>;
  /** Its bucket width: the chart step, or its own sampling interval where that is longer. */
  stepMs: number;
}

export interface Series {
  host: string;
  start: number;
  end: number;
  stepMs: number;
  /** Bucket start times (ms). */
  t: number[];
  /** `gpuN.metric`, `host.metric`, `proc.metric` → bucket means (null where no sample). */
  series: Record<string, Array<number | null>>;
  /**
   * The same series, each bucketed on its own grid: a 1 Hz GPM series on a 100 ms grid would be
   * a row of isolated points with nulls between (nothing to draw a line through). Charts draw these.
   */
  lines: Record<string, Line>;
}

/** The metrics charts show; everything else stays in the report's tables. */
export const CHART_METRICS = {
  gpu: ['util_pct', 'sm_active_pct', 'tensor_active_pct', 'mem_used_mib', 'power_w'],
  host: ['cpu_pct', 'cpu_core_max_pct', 'mem_used_mib', 'disk_read_mibps', 'disk_write_mibps', 'net_rx_mibps', 'net_tx_mibps'],
  proc: ['cpu_cores'],
} as const;

/** A line breaks only where samples stop for longer than this many of its own steps. */
export const GAP_STEPS = 2.5;

/** Median spacing of sorted times (0 for fewer than two). */
export function medianInterval(ts: ArrayLike<number>): number {
  const d: number[] = [];
  for (let i = 1; i < ts.length; i++) {
    const g = (ts[i] as number) - (ts[i - 1] as number);
    if (g > 0) d.push(g);
  }
  if (d.length === 0) return 0;
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)] as number;
}

/**
 * One series' points (time-sorted) averaged into buckets of max(stepMs, its own sampling
 * interval), stamped at the bucket's middle; a null goes where no sample came for GAP_STEPS of
 * its steps, so a real outage shows as a gap and sampling jitter does not.
 */
export function bucketLine(ts: ArrayLike<number>, vs: ArrayLike<number>, start: number, stepMs: number): Line {
  const step = Math.max(stepMs, medianInterval(ts));
  const sums = new Map<number, { sum: number; n: number }>();
  for (let i = 0; i < ts.length; i++) {
    const b = Math.floor(((ts[i] as number) - start) / step);
    const acc = sums.get(b);
    if (acc) {
      acc.sum += vs[i] as number;
      acc.n++;
    } else sums.set(b, { sum: vs[i] as number, n: 1 });
  }
  const line: Line = { t: [], v: [], stepMs: step };
  let prev: number | null = null;
  for (const [b, { sum, n }] of [...sums].sort(([a], [c]) => a - c)) {
    const t = start + b * step + step / 2;
    if (prev !== null && t - prev > GAP_STEPS * step) {
      line.t.push((prev + t) / 2);
      line.v.push(null);
    }
    line.t.push(t);
    line.v.push(Math.round((sum / n) * 100) / 100);
    prev = t;
  }
  return line;
}

/** Chart points as they come, keys interned, in typed arrays (an hour of 8 GPUs is millions). */
class Points {
  private readonly keys = new Map<string, number>();
  private t = new Float64Array(1024);
  private v = new Float64Array(1024);
  private k = new Uint16Array(1024);
  private n = 0;
  start = Infinity;
  end = -Infinity;

  push(key: string, t: number, v: number): void {
    let id = this.keys.get(key);
    if (id === undefined) this.keys.set(key, (id = this.keys.size));
    if (this.n === this.t.length) {
      const grow = <A extends Float64Array | Uint16Array>(a: A, make: (n: number) => A): A => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.t = grow(this.t, (n) => new Float64Array(n));
      this.v = grow(this.v, (n) => new Float64Array(n));
      this.k = grow(this.k, (n) => new Uint16Array(n));
    }
    this.t[this.n] = t;
    this.v[this.n] = v;
    this.k[this.n++] = id;
    if (t < this.start) this.start = t;
    if (t > this.end) this.end = t;
  }

  /** Means per bucket, at most `points` buckets over the points' span. */
  buckets(host: string, points: number): Series {
    if (this.n === 0) return { host, start: 0, end: 0, stepMs: 0, t: [], series: {}, lines: {} };
    const { start, end } = this;
    const stepMs = Math.max(100, Math.ceil((end - start + 1) / points));
    const n = Math.floor((end - start) / stepMs) + 1;
    const sums = [...this.keys.keys()].map(() => ({ sum: new Float64Array(n), count: new Uint32Array(n) }));
    for (let j = 0; j < this.n; j++) {
      const acc = sums[this.k[j] as number] as { sum: Float64Array; count: Uint32Array };
      const i = Math.floor(((this.t[j] as number) - start) / stepMs);
      acc.sum[i] = (acc.sum[i] as number) + (this.v[j] as number);
      acc.count[i] = (acc.count[i] as number) + 1;
    }
    const series: Record<string, Array<number | null>> = {};
    const lines: Record<string, Line> = {};
    const own = this.byKey();
    for (const [key, id] of [...this.keys].sort(([a], [b]) => a.localeCompare(b))) {
      const acc = sums[id] as { sum: Float64Array; count: Uint32Array };
      series[key] = Array.from(acc.sum, (s, i) => ((acc.count[i] as number) > 0 ? Math.round((s / (acc.count[i] as number)) * 100) / 100 : null));
      const p = own[id] as { t: Float64Array; v: Float64Array };
      lines[key] = bucketLine(p.t, p.v, start, stepMs);
    }
    return { host, start, end, stepMs, t: Array.from({ length: n }, (_, i) => start + i * stepMs), series, lines };
  }

  /** Each key's points on their own, time-sorted (GPM's shift back can reorder a few). */
  private byKey(): Array<{ t: Float64Array; v: Float64Array }> {
    const count = new Uint32Array(this.keys.size);
    for (let j = 0; j < this.n; j++) count[this.k[j] as number] = (count[this.k[j] as number] as number) + 1;
    const out = Array.from(count, (c) => ({ t: new Float64Array(c), v: new Float64Array(c), n: 0 }));
    for (let j = 0; j < this.n; j++) {
      const p = out[this.k[j] as number] as { t: Float64Array; v: Float64Array; n: number };
      p.t[p.n] = this.t[j] as number;
      p.v[p.n++] = this.v[j] as number;
    }
    return out.map(({ t, v }) => {
      let sorted = true;
      for (let i = 1; i < t.length && sorted; i++) sorted = (t[i - 1] as number) <= (t[i] as number);
      if (sorted) return { t, v };
      const order = Array.from(t, (_, i) => i).sort((a, b) => (t[a] as number) - (t[b] as number));
      return { t: Float64Array.from(order, (i) => t[i] as number), v: Float64Array.from(order, (i) => v[i] as number) };
    });
  }
}

const GPM_CHART = new Set(['sm_active_pct', 'tensor_active_pct']);

/**
 * A host's samples averaged into at most `points` time buckets, for charts. GPM values are moved
 * back by `gpmLagMs`, as in the report.
 */
export function bucketSeries(host: string, samples: Iterable<StoredSample>, points: number, gpmLagMs: number): Series {
  const pts = new Points();
  for (const s of samples) {
    // Samples of one workload process (pid) are not the tree total `proc.*` charts show.
    if (s.host !== host || s.pid !== undefined) continue;
    for (const k of CHART_METRICS[s.source] as readonly string[]) {
      const v = s.m[k];
      if (v !== undefined) pts.push(s.source === 'gpu' ? `gpu${s.gpu}.${k}` : `${s.source}.${k}`, GPM_CHART.has(k) ? s.t - gpmLagMs : s.t, v);
    }
  }
  return pts.buckets(host, points);
}

/** bucketSeries straight from the store's row iterator: the same series without a sample object per row. */
export function bucketSeriesFromStore(store: SqliteStore, runId: string, host: string, points: number, gpmLagMs: number): Series {
  const pts = new Points();
  const names: string[] = [...new Set(Object.values(CHART_METRICS).flat())];
  const slot = new Map<string, number>(names.map((n, i) => [n, i]));
  store.reportReads().forEachSampleRow(
    runId,
    (m) => slot.get(m) ?? -1,
    names.length,
    (r) => {
      if (r.pid !== undefined) return;
      for (const k of CHART_METRICS[r.source] as readonly string[]) {
        const v = r.values[slot.get(k) as number] as number;
        if (!Number.isNaN(v)) pts.push(r.source === 'gpu' ? `gpu${r.gpu}.${k}` : `${r.source}.${k}`, GPM_CHART.has(k) ? r.t - gpmLagMs : r.t, v);
      }
    },
    host,
  );
  return pts.buckets(host, points);
}
