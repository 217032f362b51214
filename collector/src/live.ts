import type { WebSocket } from 'ws';
import { decodeSampleBlock, type Mark, type Sample } from '@stagewatch/shared';
import type { StoredElsewhere, StoreEngine } from './store/engine.js';
import type { PendingBatch } from './store/rows.js';

/** Marks held for one reader that does not read, at most. */
const MAX_PENDING_MARKS = 10_000;

interface Subscriber {
  ws: WebSocket;
  host: string;
  samples: Sample[];
  marks: Array<Mark & { host: string }>;
  dropped: number;
  /** Until the backfill is sent: updates wait, and those it already holds are dropped then. */
  started: boolean;
}

/** What the browser gets: samples and marks of one host, times on the collector's clock. */
export type LiveMessage =
  | { type: 'hello'; host: string; runId: string | null; samples: Sample[]; marks: Array<Mark & { host: string }>; now: number; windowMs: number }
  | { type: 'update'; runId: string | null; samples: Sample[]; marks: Array<Mark & { host: string }>; dropped: number; now: number };

/** The longest look-back a live view may ask for (`/live?host=H&window_ms=N`). */
export const MAX_LIVE_WINDOW_MS = 30 * 60_000;
/** A backfill keeps at most this many samples per (source, GPU): older, denser ranges are thinned by stride. */
export const BACKFILL_PER_SERIES = 3000;

/** Every k-th sample of each (source, GPU) so no series has more than `max`: a long look-back stays small. */
export function thin(samples: readonly Sample[], max: number): Sample[] {
  const groups = new Map<string, number>();
  for (const s of samples) groups.set(`${s.source}${s.gpu ?? ''}`, (groups.get(`${s.source}${s.gpu ?? ''}`) ?? 0) + 1);
  const seen = new Map<string, number>();
  return samples.filter((s) => {
    const g = `${s.source}${s.gpu ?? ''}`;
    const stride = Math.ceil((groups.get(g) as number) / max);
    const i = seen.get(g) ?? 0;
    seen.set(g, i + 1);
    return i % stride === 0;
  });
}

/** A stored batch's samples decoded from its blocks, in time order (a stable sort: series order at equal times). */
function batchSamples(p: PendingBatch): Sample[] {
  return p.blocks.flatMap((b) => decodeSampleBlock(b, p.host)).sort((x, y) => x.t - y.t);
}

/**
 * Pushes committed samples to browsers watching a host, every `tickMs`. A browser that cannot
 * keep up (its socket buffer over `maxBufferedBytes`) misses ticks instead of falling behind:
 * what it missed is counted and said, and the next tick carries only new data.
 */
export class LiveHub {
  private readonly subs = new Set<Subscriber>();
  private readonly timer: NodeJS.Timeout;
  private readonly runOf = new Map<string, string | null>();

  constructor(
    private readonly store: StoreEngine,
    private readonly opts = { tickMs: 100, backfillMs: 5 * 60_000, maxBufferedBytes: 1 << 20 },
  ) {
    this.timer = setInterval(() => this.tick(), opts.tickMs).unref();
  }

  subscribe(ws: WebSocket, host: string, windowMs = this.opts.backfillMs): void {
    const window = Math.min(MAX_LIVE_WINDOW_MS, Math.max(10_000, windowMs));
    const sub: Subscriber = { ws, host, samples: [], marks: [], dropped: 0, started: false };
    // Subscribed before the backfill is read: a commit while a database answers is not missed.
    this.subs.add(sub);
    ws.on('close', () => this.subs.delete(sub));
    ws.on('error', () => this.subs.delete(sub));
    this.store.recent(host, Date.now() - window).then(
      (recent) => {
        // What the backfill holds is not sent again: updates up to its last time are dropped.
        const upTo = recent.samples.reduce((t, s) => Math.max(t, s.t), -Infinity);
        const marksUpTo = recent.marks.reduce((t, m) => Math.max(t, m.t), -Infinity);
        sub.samples = sub.samples.filter((s) => s.t > upTo);
        sub.marks = sub.marks.filter((m) => m.t > marksUpTo);
        sub.started = true;
        this.send(sub, { type: 'hello', host, runId: recent.runId, samples: thin(recent.samples, BACKFILL_PER_SERIES), marks: recent.marks, now: Date.now(), windowMs: window });
      },
      () => {
        this.subs.delete(sub);
        ws.close(1011, 'store read failed');
      },
    );
  }

  /** Whether some live view watches this host. */
  watches(host: string): boolean {
    for (const sub of this.subs) if (sub.host === host) return true;
    return false;
  }

  /** What another collector stored (PostgreSQL): already decoded, times on the collectors' clock. */
  onStoredElsewhere(s: StoredElsewhere): void {
    this.runOf.set(s.host, s.runId);
    for (const sub of this.subs) {
      if (sub.host !== s.host) continue;
      sub.samples.push(...s.samples);
      for (const m of s.marks) if (m.timing === undefined) sub.marks.push(m as Mark & { host: string });
    }
  }

  /** Called with each commit's batches. */
  onCommit(stored: readonly PendingBatch[]): void {
    if (this.subs.size === 0) return;
    for (const p of stored) {
      this.runOf.set(p.host, p.batch.runId ?? `timeline:${p.host}`);
      const shift = p.batch.clock?.offsetMs ?? 0;
      // Decoded only where someone watches the host, once for all who do.
      let decoded: Sample[] | null = null;
      for (const sub of this.subs) {
        if (sub.host !== p.host) continue;
        for (const s of decoded ?? (decoded = batchSamples(p))) sub.samples.push(shift ? { ...s, t: Math.round(s.t - shift) } : s);
        // Spans (marks with timing) are summarised in the report; as live bands they would flood the view.
        for (const m of p.batch.marks) if (m.timing === undefined) sub.marks.push({ ...m, t: m.t - shift, host: p.host });
      }
    }
  }

  private tick(): void {
    for (const sub of this.subs) {
      if (!sub.started || (sub.samples.length === 0 && sub.marks.length === 0)) continue;
      if (sub.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        // Samples can be skipped; marks cannot, or the stage bands would be wrong. A reader so
        // far behind that its marks pile up is cut off: it can reconnect and start afresh.
        sub.dropped += sub.samples.length;
        sub.samples = [];
        if (sub.marks.length > MAX_PENDING_MARKS) {
          this.subs.delete(sub);
          sub.ws.terminate();
        }
        continue;
      }
      this.send(sub, { type: 'update', runId: this.runOf.get(sub.host) ?? null, samples: sub.samples, marks: sub.marks, dropped: sub.dropped, now: Date.now() });
      sub.samples = [];
      sub.marks = [];
    }
  }

  private send(sub: Subscriber, msg: LiveMessage): void {
    if (sub.ws.readyState === sub.ws.OPEN) sub.ws.send(JSON.stringify(msg));
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of this.subs) s.ws.close(1001, 'collector shutting down');
  }
}
