import type { StoredSample } from '../store/sqlite.js';

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

/**
 * A host's samples averaged into at most `points` time buckets, for charts. GPM values are moved
 * back by `gpmLagMs`, as in the report.
 */
export function bucketSeries(host: string, samples: Iterable<StoredSample>, points: number, gpmLagMs: number): Series {
  const pts: Array<[string, number, number]> = [];
  let start = Infinity;
  let end = -Infinity;
  const gpm = new Set(['sm_active_pct', 'tensor_active_pct']);
  for (const s of samples) {
    // Samples of one workload process (pid) are not the tree total `proc.*` charts show.
    if (s.host !== host || s.pid !== undefined) continue;
    const wanted = CHART_METRICS[s.source] as readonly string[];
    for (const k of wanted) {
      const v = s.m[k];
      if (v === undefined) continue;
      const t = gpm.has(k) ? s.t - gpmLagMs : s.t;
      pts.push([s.source === 'gpu' ? `gpu${s.gpu}.${k}` : `${s.source}.${k}`, t, v]);
      start = Math.min(start, t);
      end = Math.max(end, t);
    }
  }
  if (pts.length === 0) return { host, start: 0, end: 0, stepMs: 0, t: [], series: {} };
  const stepMs = Math.max(100, Math.ceil((end - start + 1) / points));
  const n = Math.floor((end - start) / stepMs) + 1;
  const sums = new Map<string, { sum: Float64Array; count: Uint32Array }>();
  for (const [key, t, v] of pts) {
    let acc = sums.get(key);
    if (!acc) sums.set(key, (acc = { sum: new Float64Array(n), count: new Uint32Array(n) }));
    const i = Math.floor((t - start) / stepMs);
    acc.sum[i] = (acc.sum[i] as number) + v;
    acc.count[i] = (acc.count[i] as number) + 1;
  }
  const series: Record<string, Array<number | null>> = {};
  for (const [key, acc] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
    series[key] = Array.from(acc.sum, (s, i) => ((acc.count[i] as number) > 0 ? Math.round((s / (acc.count[i] as number)) * 100) / 100 : null));
  }
  return { host, start, end, stepMs, t: Array.from({ length: n }, (_, i) => start + i * stepMs), series };
}
