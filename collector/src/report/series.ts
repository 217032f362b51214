import type { SqliteStore, StoredSample } from '../store/sqlite.js';

export interface Series {
  host: string;
  start: number;
  end: number;
  stepMs: number;
  /** Bucket start times (ms). */
  t: number[];
  /** `gpuN.metric`, `host.metric`, `proc.metric` → bucket means (null where no sample). */
  series: Record<string, Array<number | null>>;
}

/** The metrics charts show; everything else stays in the report's tables. */
export const CHART_METRICS = {
  gpu: ['util_pct', 'sm_active_pct', 'tensor_active_pct', 'mem_used_mib', 'power_w'],
  host: ['cpu_pct', 'cpu_core_max_pct', 'disk_read_mibps'],
  proc: ['cpu_cores'],
} as const;

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
    if (this.n === 0) return { host, start: 0, end: 0, stepMs: 0, t: [], series: {} };
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
    for (const [key, id] of [...this.keys].sort(([a], [b]) => a.localeCompare(b))) {
      const acc = sums[id] as { sum: Float64Array; count: Uint32Array };
      series[key] = Array.from(acc.sum, (s, i) => ((acc.count[i] as number) > 0 ? Math.round((s / (acc.count[i] as number)) * 100) / 100 : null));
    }
    return { host, start, end, stepMs, t: Array.from({ length: n }, (_, i) => start + i * stepMs), series };
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
