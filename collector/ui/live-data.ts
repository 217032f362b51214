import type { Mark, Sample } from '@stagewatch/shared';
import { bucketLine } from '../src/report/series.js';
import { leafIntervals } from '../src/report/leaves.js';
import type { Band, LineData } from './charts.js';

/**
 * What the live view reads of the server's samples and marks (collector/src/live.ts sends them
 * whole). A sample with `pid` is one workload process's: not the tree total the workload chart shows.
 */
export type LiveSample = Pick<Sample, 't' | 'source' | 'gpu' | 'pid' | 'm'>;
export type LiveMark = Pick<Mark, 't' | 'kind' | 'stage' | 'step'>;

/** Chart keys of a sample's values: `gpu0.util_pct`, `host.cpu3_pct`, `proc.cpu_cores`. */
export const keyOf = (s: LiveSample, metric: string): string => (s.source === 'gpu' ? `gpu${s.gpu}.${metric}` : `${s.source}.${metric}`);

/**
 * What the live view holds: raw points per series for the chosen window, and the run's marks.
 * Each redraw buckets every series on its own grid (as the report does), so 1 Hz GPM values
 * draw as lines beside 10 Hz utilization, and a real stop in the data shows as a gap.
 */
export class LivePoints {
  private readonly points = new Map<string, { t: number[]; v: number[] }>();
  readonly marks: LiveMark[] = [];
  readonly gpus = new Set<number>();
  readonly cores = new Set<number>();
  lastT = 0;

  add(samples: readonly LiveSample[]): void {
    for (const s of samples) {
      if (s.pid !== undefined) continue;
      for (const [k, v] of Object.entries(s.m)) {
        const key = keyOf(s, k);
        let p = this.points.get(key);
        if (!p) this.points.set(key, (p = { t: [], v: [] }));
        // Batches arrive in order per agent; keep each series sorted if one does not.
        if (p.t.length > 0 && s.t < (p.t[p.t.length - 1] as number)) {
          const i = p.t.findIndex((t) => t > s.t);
          p.t.splice(i, 0, s.t);
          p.v.splice(i, 0, v);
        } else {
          p.t.push(s.t);
          p.v.push(v);
        }
        const core = /^cpu(\d+)_pct$/.exec(k);
        if (core) this.cores.add(Number(core[1]));
      }
      if (s.source === 'gpu' && s.gpu !== undefined) this.gpus.add(s.gpu);
      if (s.t > this.lastT) this.lastT = s.t;
    }
  }

  /** Drops what is older than `since` (ms). */
  trim(since: number): void {
    for (const p of this.points.values()) {
      let i = 0;
      while (i < p.t.length && (p.t[i] as number) < since) i++;
      if (i > 0) {
        p.t.splice(0, i);
        p.v.splice(0, i);
      }
    }
  }

  keys(): string[] {
    return [...this.points.keys()].filter((k) => (this.points.get(k)?.t.length ?? 0) > 0);
  }

  /** Every series bucketed for a window of `windowMs` drawn at about `points` buckets. */
  lines(start: number, windowMs: number, points = 600): Map<string, LineData> {
    const step = Math.max(100, Math.ceil(windowMs / points));
    const out = new Map<string, LineData>();
    for (const [key, p] of this.points) {
      if (p.t.length === 0) continue;
      const l = bucketLine(p.t, p.v, start, step);
      out.set(key, { key, t: l.t.map((t) => t / 1000), v: l.v });
    }
    return out;
  }

  /** Stage bands (leaf stages) in seconds; a stage still open runs to `openUntil`. */
  bands(openUntil: number): Band[] {
    const open = new Map<string, number>();
    const out: Band[] = [];
    for (const m of [...this.marks].sort((a, b) => a.t - b.t)) {
      if (m.step !== undefined) continue;
      if (m.kind === 'begin') open.set(m.stage, m.t);
      else if (open.has(m.stage)) {
        out.push({ name: m.stage, start: (open.get(m.stage) as number) / 1000, end: m.t / 1000 });
        open.delete(m.stage);
      }
    }
    for (const [name, t] of open) out.push({ name, start: t / 1000, end: openUntil / 1000 });
    return leafIntervals(out, (b) => b.start, (b) => b.end);
  }
}

/** A host is stale when nothing arrived for this long: it is said, and no stage is called current. */
export const STALE_AFTER_MS = 10_000;

/**
 * How long since the host's last sample, on the collector's clock: the server's `now` at the
 * last message plus what the browser's clock says passed since (the two clocks may differ).
 */
export function idleMs(lastT: number, serverNow: number, receivedAt: number, browserNow: number): number {
  if (lastT === 0) return Infinity;
  return serverNow + (browserNow - receivedAt) - lastT;
}
