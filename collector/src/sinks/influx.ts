import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxDB, setLogger, type Point } from '@influxdata/influxdb-client';

// The client would print every failed write itself; the sink reports failures once, in its own log.
setLogger({ error: () => {}, warn: () => {} });
import { Counter, Gauge } from 'prom-client';
import { buildStages } from '../analysis/stages.js';
import { getMeta, gpuTags, latestBegin, marksAfter, marksUpTo, maxRowids, samplesAfter, setMeta } from '../store/cursor-reads.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { CollectorTelemetry } from '../telemetry.js';
import { markPoint, samplePoint, stageTagsAt } from './line-points.js';
import type { Sink } from './types.js';

export interface InfluxOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Samples read and written per request. */
  pageSize?: number;
  intervalMs?: number;
  backoffMaxMs?: number;
}

const CURSOR_SAMPLES = 'influx.cursor.samples';
const CURSOR_MARKS = 'influx.cursor.marks';

/**
 * Feeds InfluxDB (v2 write API, or any server speaking it) from the store. Two cursors in the
 * store's meta table say what was written; they move only after the server accepted a page, so
 * while InfluxDB is down nothing is lost and everything is written when it returns. A page
 * written twice (a crash between write and cursor) rewrites the same points: harmless.
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
  private readonly lag: Gauge;

  constructor(
    private readonly store: SqliteStore,
    private readonly opts: InfluxOptions,
    private readonly log: (msg: string) => void,
    telemetry: CollectorTelemetry,
  ) {
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, timeout: 10_000 });
    this.written = new Counter({ name: 'stagewatch_collector_influx_points_written_total', help: 'Points InfluxDB accepted', registers: [telemetry.registry] });
    this.errors = new Counter({ name: 'stagewatch_collector_influx_write_errors_total', help: 'Failed InfluxDB writes (retried)', registers: [telemetry.registry] });
    this.lag = new Gauge({
      name: 'stagewatch_collector_influx_backlog',
      help: 'Samples and stage marks stored but not yet written to InfluxDB',
      registers: [telemetry.registry],
      collect: () => {
        const max = maxRowids(this.store);
        this.lag.set(Math.max(0, max.samples - this.cursor(CURSOR_SAMPLES)) + Math.max(0, max.marks - this.cursor(CURSOR_MARKS)));
      },
    });
  }

  private cursor(key: string): number {
    return Number(getMeta(this.store, key) ?? '0');
  }

  start(): void {
    this.running = true;
    this.loop ??= this.run();
  }

  notify(): void {
    this.wake?.();
  }

  async flush(): Promise<void> {
    while (await this.writePage()) {
      // keep going until a page comes back short
    }
  }

  async close(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      try {
        const more = await this.writePage();
        if (this.failing) this.log(`InfluxDB ${this.opts.url} is back; catching up`);
        this.failing = null;
        attempt = 0;
        if (more) continue;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.opts.intervalMs ?? 1000).unref();
        });
        this.wake = null;
      } catch (e) {
        this.errors.inc();
        const msg = (e as Error).message;
        if (this.failing !== msg) this.log(`InfluxDB write failed (${msg}); keeping the cursor and retrying with backoff`);
        this.failing = msg;
        const base = Math.min(this.opts.backoffMaxMs ?? 30_000, 500 * 2 ** attempt++);
        try {
          await sleep(base / 2 + Math.random() * (base / 2), undefined, { signal: this.abort.signal });
        } catch {
          return;
        }
      }
    }
  }

  /** Writes the next page; returns true when more is waiting. */
  private async writePage(): Promise<boolean> {
    const limit = this.opts.pageSize ?? 5000;
    const sc = this.cursor(CURSOR_SAMPLES);
    const mc = this.cursor(CURSOR_MARKS);
    const samples = samplesAfter(this.store, sc, limit);
    const marks = marksAfter(this.store, mc, limit);
    if (samples.length === 0 && marks.length === 0) return false;
    const points: Point[] = [];
    const tags = gpuTags(this.store);
    // Stage tags come from the marks stored for that run and host up to each page's last sample.
    const stagesBy = new Map<string, ReturnType<typeof buildStages>['stages']>();
    for (const s of samples) {
      const key = `${s.rid}:${s.hid}`;
      let stages = stagesBy.get(key);
      if (!stages) {
        const upTo = samples.filter((x) => x.rid === s.rid && x.hid === s.hid).reduce((a, x) => Math.max(a, x.t), 0);
        stages = buildStages(marksUpTo(this.store, s.rid, s.hid, upTo), Number.MAX_SAFE_INTEGER).stages;
        stagesBy.set(key, stages);
      }
      const g = s.gpu === undefined ? undefined : tags.get(`${s.host}\u0000${s.gpu}`);
      points.push(samplePoint(s, { runId: s.runId, ...stageTagsAt(stages, s.t), ...(g ? { gpuUuid: g.uuid, gpuName: g.name } : {}) }));
    }
    for (const m of marks) {
      let duration: number | null = null;
      if (m.kind === 'end') {
        const begin = latestBegin(this.store, m.rid, m.hid, m.stage, m.step ?? null, m.rank ?? null, m.t);
        if (begin !== null) duration = Math.round(m.t - begin) / 1000;
      }
      points.push(markPoint(m, duration));
    }
    const writer = this.influx.getWriteApi(this.opts.org, this.opts.bucket, 'ms', { maxRetries: 0, batchSize: points.length + 1, flushInterval: 0 });
    writer.writePoints(points);
    await writer.close();
    this.written.inc(points.length);
    if (samples.length > 0) setMeta(this.store, CURSOR_SAMPLES, String((samples.at(-1) as { rowid: number }).rowid));
    if (marks.length > 0) setMeta(this.store, CURSOR_MARKS, String((marks.at(-1) as { rowid: number }).rowid));
    return samples.length === limit || marks.length === limit;
  }
}
