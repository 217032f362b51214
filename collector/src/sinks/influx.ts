import { HttpError, InfluxDB, setLogger, type Point } from '@influxdata/influxdb-client';
import { Counter, Gauge } from 'prom-client';
import { Backoff, errorMessage, waitUnlessAborted } from '@stagewatch/shared';
import { buildStages } from '../analysis/stages.js';
import type { CollectorTelemetry } from '../telemetry.js';
import { markPoint, samplePoint, stageTagsAt } from './line-points.js';
import type { RowPlace, Sink, SinkSource } from './types.js';
import type { StoredMark, StoredSample } from '../store/rows.js';

// The client would print every failed write itself; the sink reports failures once, in its own log.
setLogger({ error: () => {}, warn: () => {} });

export interface InfluxOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Samples read and written per request. */
  pageSize?: number;
  intervalMs?: number;
  backoffMaxMs?: number;
  /** Tries of a page the server refuses for good (HTTP 4xx but 429) before it is skipped. */
  permanentTries?: number;
}

const CURSOR_SAMPLES = 'influx.cursor.samples';
/** The sink's samples cursor: how far it has written (the pruner keeps raw readings after it). */
export const INFLUX_CURSOR_SAMPLES = CURSOR_SAMPLES;
const CURSOR_MARKS = 'influx.cursor.marks';

export interface WriteFailure {
  /** permanent: the same request will be refused again; temporary: it may pass later. */
  kind: 'permanent' | 'temporary';
  status: number | null;
  message: string;
}

/**
 * A 4xx answer says the request itself is wrong (bad points, bad token, no such bucket): sending
 * it again gets the same answer, except 429, which asks to come back later. Everything else (5xx,
 * timeouts, refused connections) may pass on a later try.
 */
export function classifyWriteError(e: unknown): WriteFailure {
  if (e instanceof HttpError) {
    const permanent = e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 429;
    return { kind: permanent ? 'permanent' : 'temporary', status: e.statusCode, message: `HTTP ${e.statusCode}: ${(e.body ?? e.message).slice(0, 200)}` };
  }
  return { kind: 'temporary', status: null, message: errorMessage(e) };
}

interface Page {
  samples: Array<StoredSample & RowPlace>;
  marks: Array<StoredMark & RowPlace>;
}

/**
 * Feeds InfluxDB (v2 write API, or any server speaking it) from the store. Two cursors in the
 * store say what was written; they move only after the server accepted a page, so while InfluxDB
 * is down nothing is lost and everything is written when it returns. A page written twice (a
 * crash between write and cursor) rewrites the same points: harmless. A page the server refuses
 * for good is tried `permanentTries` times, then skipped: the range is kept in the store
 * (sink_skips) and counted on /metrics, so one bad page never holds back everything after it.
 */
export class InfluxSink implements Sink {
  readonly name = 'influx';
  private readonly influx: InfluxDB;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private failing: string | null = null;
  private readonly written: Counter;
  private readonly errors: Counter;
  private readonly permanent: Counter;
  private readonly skippedRows: Counter;
  private readonly lag: Gauge;

  constructor(
    private readonly source: SinkSource,
    private readonly opts: InfluxOptions,
    private readonly log: (msg: string) => void,
    telemetry: CollectorTelemetry,
  ) {
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, timeout: 10_000 });
    const registers = [telemetry.registry];
    this.written = new Counter({ name: 'stagewatch_collector_influx_points_written_total', help: 'Points InfluxDB accepted', registers });
    this.errors = new Counter({ name: 'stagewatch_collector_influx_write_errors_total', help: 'Failed InfluxDB writes that may pass later (retried with backoff)', registers });
    this.permanent = new Counter({ name: 'stagewatch_collector_influx_permanent_errors_total', help: 'InfluxDB writes refused for good (HTTP 4xx but 429)', registers });
    this.skippedRows = new Counter({
      name: 'stagewatch_collector_influx_skipped_rows_total',
      help: 'Stored rows never written to InfluxDB because it refused their page for good (ranges in the store table sink_skips)',
      labelNames: ['table'],
      registers,
    });
    this.lag = new Gauge({
      name: 'stagewatch_collector_influx_backlog',
      help: 'Samples and stage marks stored but not yet written to InfluxDB',
      registers,
      collect: () => {
        const max = this.source.maxRowids();
        this.lag.set(Math.max(0, max.samples - this.source.cursor(CURSOR_SAMPLES)) + Math.max(0, max.marks - this.source.cursor(CURSOR_MARKS)));
      },
    });
  }

  start(): void {
    this.running = true;
    this.loop ??= this.run();
  }

  notify(): void {
    this.wake?.();
  }

  async close(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: this.opts.backoffMaxMs ?? 30_000 });
    let refusals = 0;
    while (this.running) {
      const page = this.readPage();
      try {
        const more = await this.write(page);
        if (this.failing) this.log(`InfluxDB ${this.opts.url} is back; catching up`);
        this.failing = null;
        backoff.reset();
        refusals = 0;
        if (more) continue;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.opts.intervalMs ?? 1000).unref();
        });
        this.wake = null;
      } catch (e) {
        const f = classifyWriteError(e);
        (f.kind === 'permanent' ? this.permanent : this.errors).inc();
        // Said once per distinct error, not once per try or per page.
        if (this.failing !== f.message) {
          this.log(
            f.kind === 'permanent'
              ? `InfluxDB refused a write (${f.message}); that will not change by retrying: each such page is tried ${this.permanentTries} times, then skipped and recorded`
              : `InfluxDB write failed (${f.message}); keeping the cursor and retrying with backoff`,
          );
        }
        this.failing = f.message;
        if (f.kind === 'permanent' && ++refusals >= this.permanentTries) {
          this.skip(page, f.message);
          refusals = 0;
          backoff.reset();
          continue;
        }
        if (!(await waitUnlessAborted(backoff.next(), this.abort.signal))) return;
      }
    }
  }

  private get permanentTries(): number {
    return this.opts.permanentTries ?? 3;
  }

  private readPage(): Page {
    const limit = this.opts.pageSize ?? 5000;
    return {
      samples: this.source.samplesAfter(this.source.cursor(CURSOR_SAMPLES), limit),
      marks: this.source.marksAfter(this.source.cursor(CURSOR_MARKS), limit),
    };
  }

  /** Moves the cursors past a page without writing it, and keeps the range in the store. */
  private skip(page: Page, error: string): void {
    const at = Date.now();
    for (const [table, rows, key] of [['samples', page.samples, CURSOR_SAMPLES], ['marks', page.marks, CURSOR_MARKS]] as const) {
      const last = rows.at(-1);
      if (!last) continue;
      this.source.recordSkip({ sink: this.name, table, from: this.source.cursor(key), to: last.rowid, at, error });
      this.source.setCursor(key, last.rowid);
      this.skippedRows.inc({ table }, rows.length);
    }
  }

  /** Writes a page and moves the cursors past it; returns true when more is waiting. */
  private async write(page: Page): Promise<boolean> {
    const { samples, marks } = page;
    if (samples.length === 0 && marks.length === 0) return false;
    const points: Point[] = [];
    const tags = this.source.gpuTags();
    // Stage tags come from the marks stored for that run and host up to each page's last sample.
    const stagesBy = new Map<string, ReturnType<typeof buildStages>['stages']>();
    for (const s of samples) {
      const key = `${s.rid}:${s.hid}`;
      let stages = stagesBy.get(key);
      if (!stages) {
        const upTo = samples.filter((x) => x.rid === s.rid && x.hid === s.hid).reduce((a, x) => Math.max(a, x.t), 0);
        stages = buildStages(this.source.marksUpTo(s.rid, s.hid, upTo), Number.MAX_SAFE_INTEGER).stages;
        stagesBy.set(key, stages);
      }
      const g = s.gpu === undefined ? undefined : tags.get(`${s.host}\u0000${s.gpu}`);
      points.push(samplePoint(s, { runId: s.runId, ...stageTagsAt(stages, s.t), ...(g ? { gpuUuid: g.uuid, gpuName: g.name } : {}) }));
    }
    for (const m of marks) {
      let duration: number | null = null;
      if (m.kind === 'end') {
        const begin = this.source.latestBegin(m.rid, m.hid, m.stage, m.step ?? null, m.rank ?? null, m.t);
        if (begin !== null) duration = Math.round(m.t - begin) / 1000;
      }
      points.push(markPoint(m, duration));
    }
    const writer = this.influx.getWriteApi(this.opts.org, this.opts.bucket, 'ms', { maxRetries: 0, batchSize: points.length + 1, flushInterval: 0 });
    writer.writePoints(points);
    await writer.close();
    this.written.inc(points.length);
    const limit = this.opts.pageSize ?? 5000;
    if (samples.length > 0) this.source.setCursor(CURSOR_SAMPLES, (samples.at(-1) as RowPlace).rowid);
    if (marks.length > 0) this.source.setCursor(CURSOR_MARKS, (marks.at(-1) as RowPlace).rowid);
    return samples.length === limit || marks.length === limit;
  }
}
