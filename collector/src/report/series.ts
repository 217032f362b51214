import type { StoredSample } from '../store/sqlite.js';

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
export function medianInterval(ts: readonly number[]): number {
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
export function bucketLine(ts: readonly number[], vs: readonly number[], start: number, stepMs: number): Line {
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

/**
 * A host's samples averaged into at most `points` time buckets, for charts. GPM values are moved
 * back by `gpmLagMs`, as in the report.
 */
export function bucketSeries(host: string, samples: Iterable<StoredSample>, points: number, gpmLagMs: number): Series {
  const byKey = new Map<string, { t: number[]; v: number[] }>();
  let start = Infinity;
  let end = -Infinity;
  const gpm = new Set(['sm_active_pct', 'tensor_active_pct']);
  for (const s of samples) {
    if (s.host !== host) continue;
    const wanted = CHART_METRICS[s.source] as readonly string[];
    for (const k of wanted) {
      const v = s.m[k];
      if (v === undefined) continue;
      const t = gpm.has(k) ? s.t - gpmLagMs : s.t;
      const key = s.source === 'gpu' ? `gpu${s.gpu}.${k}` : `${s.source}.${k}`;
      let p = byKey.get(key);
      if (!p) byKey.set(key, (p = { t: [], v: [] }));
      p.t.push(t);
      p.v.push(v);
      start = Math.min(start, t);
      end = Math.max(end, t);
    }
  }
  if (byKey.size === 0) return { host, start: 0, end: 0, stepMs: 0, t: [], series: {}, lines: {} };
  const stepMs = Math.max(100, Math.ceil((end - start + 1) / points));
  const n = Math.floor((end - start) / stepMs) + 1;
  const series: Record<string, Array<number | null>> = {};
  const lines: Record<string, Line> = {};
  for (const [key, p] of [...byKey].sort(([a], [b]) => a.localeCompare(b))) {
    // Samples of one key arrive in time order per source, but GPM shifts can reorder a few.
    const order = p.t.map((_, i) => i).sort((a, b) => (p.t[a] as number) - (p.t[b] as number));
    const ts = order.map((i) => p.t[i] as number);
    const vs = order.map((i) => p.v[i] as number);
    const sum = new Float64Array(n);
    const count = new Uint32Array(n);
    for (let i = 0; i < ts.length; i++) {
      const b = Math.floor(((ts[i] as number) - start) / stepMs);
      sum[b] = (sum[b] as number) + (vs[i] as number);
      count[b] = (count[b] as number) + 1;
    }
    series[key] = Array.from(sum, (s, i) => ((count[i] as number) > 0 ? Math.round((s / (count[i] as number)) * 100) / 100 : null));
    lines[key] = bucketLine(ts, vs, start, stepMs);
  }
  return { host, start, end, stepMs, t: Array.from({ length: n }, (_, i) => start + i * stepMs), series, lines };
}
