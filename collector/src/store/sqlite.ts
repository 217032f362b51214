import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Batch, Hello, Mark, Sample, SampleSource } from '@stagewatch/shared';
import { StagewatchError } from '@stagewatch/shared';
import { decodeMetrics, encodeMetrics } from './codec.js';
import { FINGERPRINT_SCHEMA, saveFingerprint } from './fingerprints.js';
import { migrations, SCHEMA, SOURCES } from './schema.js';
import { runSummaries, type RunSummary } from './runs.js';

export type { RunSummary } from './runs.js';

export const STORE_FILE = 'stagewatch.sqlite';

const SOURCE_CODE = Object.fromEntries(SOURCES.map((s, i) => [s, i])) as Record<SampleSource, number>;

/** A samples row as the store keeps it: source as its index in SOURCES, metrics packed. */
export interface SampleRow {
  t: number;
  source: number;
  gpu: number | null;
  m: Uint8Array;
}

/** A marks row; gauges (JSON) only where the query selects them. */
export interface MarkRow {
  t: number;
  kind: 'begin' | 'end';
  stage: string;
  step: number | null;
  rank: number | null;
  source: Mark['source'];
  gauges?: string | null;
  timing?: Mark['timing'] | null;
  category?: string | null;
  dropped?: number | null;
  inferred?: string | null;
}

type Optional = 'step' | 'rank' | 'gauges' | 'timing' | 'category' | 'dropped' | 'inferred';

/** A marks row back into a mark, optional fields only where set. */
export function markFromRow<R extends MarkRow>(r: R): Omit<R, Optional> & Pick<StoredMark, Optional> {
  const { step, rank, gauges, timing, category, dropped, inferred, ...rest } = r;
  return {
    ...rest,
    ...(step !== null ? { step } : {}),
    ...(rank !== null ? { rank } : {}),
    ...(inferred !== null && inferred !== undefined ? { inferred } : {}),
    ...(gauges !== null && gauges !== undefined ? { gauges: JSON.parse(gauges) as Record<string, number> } : {}),
    ...(timing !== null && timing !== undefined ? { timing } : {}),
    ...(category !== null && category !== undefined ? { category } : {}),
    ...(dropped !== null && dropped !== undefined ? { dropped } : {}),
  };
}

export interface AgentRegistration {
  rid: number;
  hid: number;
  runId: string;
  storedThrough: number;
}

export interface PendingBatch {
  agentId: string;
  hid: number;
  host: string;
  batch: Batch;
}

export interface WriteResult {
  /** Per item, in order: true where that (agent, seq) was already stored. */
  duplicate: boolean[];
  samples: number;
}

export interface StoredSample extends Sample {}

export interface StoredMark extends Omit<Mark, 't'> {
  host: string;
  t: number;
}

/**
 * The embedded store: one SQLite file (WAL) under the data directory. It is the source of truth;
 * a batch's samples and its (agent, seq) mark commit in one transaction, so a batch is stored
 * exactly once however often it is resent.
 */
export class SqliteStore {
  readonly db: Database.Database;
  private readonly metricIds = new Map<string, number>();
  private readonly metricNames = new Map<number, string>();
  private readonly stmts;
  private readonly idOf = (name: string): number => this.metricIds.get(name) ?? this.newMetricId(name);
  private readonly runRids = new Map<string, number>();
  private readonly dataStarts = new Map<number, number>();

  /** The store's file, for messages that must say which store they read. */
  readonly file: string;

  /** `mustExist`: open only a store that is there (a reader never creates one as a side effect). */
  constructor(dataDir: string, opts: { mustExist?: boolean } = {}) {
    this.file = path.resolve(dataDir, STORE_FILE);
    if (opts.mustExist) {
      if (!existsSync(this.file)) throw new StagewatchError('not-found', `no store at ${this.file} (give --data DIR: the directory the collector was started with)`);
    } else {
      mkdirSync(dataDir, { recursive: true });
    }
    try {
      this.db = new Database(this.file, { fileMustExist: opts.mustExist ?? false });
    } catch (e) {
      throw new StagewatchError('store-open', `cannot open the store in ${dataDir}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (SIGKILL); only power loss can drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    // A bigger page cache keeps the samples index in memory while hundreds of agents write.
    this.db.pragma('cache_size = -131072');
    this.db.exec(SCHEMA + FINGERPRINT_SCHEMA);
    const columnsOf = (table: string): string[] => (this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    for (const sql of migrations(columnsOf)) this.db.exec(sql);
    for (const r of this.db.prepare('SELECT id, name FROM metric_names').all() as Array<{ id: number; name: string }>) {
      this.metricIds.set(r.name, r.id);
      this.metricNames.set(r.id, r.name);
    }
    const db = this.db;
    this.stmts = {
      insertHost: db.prepare('INSERT INTO hosts(name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = name RETURNING hid'),
      insertRun: db.prepare(
        'INSERT INTO runs(id, kind, started_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET id = id RETURNING rid',
      ),
      insertRunHost: db.prepare('INSERT OR IGNORE INTO run_hosts(rid, hid) VALUES (?, ?)'),
      upsertAgent: db.prepare(
        `INSERT INTO agents(id, hid, rid, first_seen, last_seen, hello) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET hid = excluded.hid, rid = excluded.rid, last_seen = excluded.last_seen, hello = excluded.hello`,
      ),
      upsertGpu: db.prepare(
        `INSERT INTO gpus(hid, idx, uuid, name, mem_total_mib) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(hid, idx) DO UPDATE SET uuid = excluded.uuid, name = excluded.name, mem_total_mib = excluded.mem_total_mib`,
      ),
      seqsAfter: db.prepare('SELECT seq FROM batches WHERE agent_id = ? ORDER BY seq'),
      insertBatch: db.prepare('INSERT OR IGNORE INTO batches(agent_id, seq, samples, stored_at) VALUES (?, ?, ?, ?)'),
      insertSample: db.prepare('INSERT INTO samples(rid, hid, t, source, gpu, m) VALUES (?, ?, ?, ?, ?, ?)'),
      insertHealth: db.prepare('INSERT INTO health(agent_id, t, sampler, state, error, body) VALUES (?, ?, ?, ?, ?, ?)'),
      upsertLoss: db.prepare(
        `INSERT INTO loss(agent_id, batches, samples, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(agent_id) DO UPDATE SET batches = max(batches, excluded.batches), samples = max(samples, excluded.samples), updated_at = excluded.updated_at`,
      ),
      insertMark: db.prepare(
        'INSERT INTO marks(rid, hid, agent_id, t, kind, stage, step, rank, gauges, source, timing, category, dropped, inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      setLabels: db.prepare('UPDATE runs SET labels = ? WHERE rid = ?'),
      insertClock: db.prepare('INSERT INTO clock(agent_id, t, offset_ms, error_ms) VALUES (?, ?, ?, ?)'),
      insertMetric: db.prepare('INSERT INTO metric_names(name) VALUES (?) RETURNING id'),
      touchAgent: db.prepare('UPDATE agents SET last_seen = ? WHERE id = ?'),
      endRunByRid: db.prepare("UPDATE runs SET ended_at = ?, exit_code = ?, signal = ? WHERE rid = ? AND kind = 'run'"),
      dataStart: db.prepare('UPDATE runs SET data_start = min(coalesce(data_start, @t), @t) WHERE rid = @rid'),
    };
  }

  /** A samples row back into a sample of `host`. */
  sampleFromRow(r: SampleRow, host: string): StoredSample {
    const base = { t: r.t, host, source: SOURCES[r.source] as SampleSource, m: decodeMetrics(r.m, (id) => this.metricNames.get(id) ?? `#${id}`) };
    return r.gpu === null ? base : { ...base, gpu: r.gpu };
  }

  private newMetricId(name: string): number {
    const id = (this.stmts.insertMetric.get(name) as { id: number }).id;
    if (id > 0xffff) throw new StagewatchError('store-metrics', 'more than 65535 distinct metric names');
    this.metricIds.set(name, id);
    this.metricNames.set(id, name);
    return id;
  }

  /** The run's row id, creating the run (or the host's timeline) and its host link on first sight. */
  private ridFor(runId: string | null, host: string, hid: number, now: number): number {
    const id = runId ?? `timeline:${host}`;
    const key = `${id}\u0000${hid}`;
    let rid = this.runRids.get(key);
    if (rid === undefined) {
      rid = (this.stmts.insertRun.get(id, runId ? 'run' : 'timeline', now) as { rid: number }).rid;
      this.stmts.insertRunHost.run(rid, hid);
      this.runRids.set(key, rid);
    }
    return rid;
  }

  /** Records an agent's hello; returns where its samples go and which seqs are already stored. */
  registerAgent(hello: Hello, now: number): AgentRegistration {
    return this.db.transaction((): AgentRegistration => {
      const hid = (this.stmts.insertHost.get(hello.host) as { hid: number }).hid;
      const runId = hello.runId ?? `timeline:${hello.host}`;
      const rid = this.ridFor(hello.runId, hello.host, hid, now);
      this.stmts.upsertAgent.run(hello.agentId, hid, rid, now, now, JSON.stringify(hello));
      if (hello.labels && Object.keys(hello.labels).length > 0) this.stmts.setLabels.run(JSON.stringify(hello.labels), rid);
      for (const g of hello.gpus) this.stmts.upsertGpu.run(hid, g.index, g.uuid, g.name, g.memTotalMib);
      if (hello.fingerprint) saveFingerprint(this.db, { rid, hid, agentId: hello.agentId, t: now, kind: 'host', body: hello.fingerprint });
      let storedThrough = 0;
      for (const { seq } of this.stmts.seqsAfter.iterate(hello.agentId) as Iterable<{ seq: number }>) {
        if (seq === storedThrough + 1) storedThrough = seq;
        else if (seq > storedThrough + 1) break;
      }
      return { rid, hid, runId, storedThrough };
    })();
  }

  /** Stores many batches in one transaction (group commit); duplicates are recognised and skipped. */
  writeBatches(items: readonly PendingBatch[], now: number): WriteResult {
    return this.db.transaction((): WriteResult => {
      const res: WriteResult = { duplicate: [], samples: 0 };
      const s = this.stmts;
      for (const { agentId, hid, host, batch } of items) {
        if (s.insertBatch.run(agentId, batch.seq, batch.samples.length, now).changes === 0) {
          res.duplicate.push(true);
          continue;
        }
        const rid = this.ridFor(batch.runId, host, hid, now);
        const shift = batch.clock ? batch.clock.offsetMs : 0;
        let first = Infinity;
        for (const smp of batch.samples) {
          const t = Math.round(smp.t - shift);
          if (t < first) first = t;
          s.insertSample.run(rid, hid, t, SOURCE_CODE[smp.source], smp.gpu ?? null, encodeMetrics(smp.m, this.idOf));
        }
        for (const k of batch.marks) {
          if (k.t - shift < first) first = Math.floor(k.t - shift);
          s.insertMark.run(
            rid, hid, agentId, k.t - shift, k.kind, k.stage, k.step ?? null, k.rank ?? null, k.gauges ? JSON.stringify(k.gauges) : null, k.source,
            k.timing ?? null, k.category ?? null, k.dropped ?? null, k.inferred ?? null,
          );
        }
        for (const h of batch.health) s.insertHealth.run(agentId, Math.round(h.t - shift), h.sampler, h.state, h.error ?? null, JSON.stringify(h));
        if (batch.loss.batches > 0) s.upsertLoss.run(agentId, batch.loss.batches, batch.loss.samples, now);
        // A run's first data only moves earlier: most batches skip the UPDATE.
        if (first < (this.dataStarts.get(rid) ?? Infinity)) {
          s.dataStart.run({ t: first, rid });
          this.dataStarts.set(rid, first);
        }
        if (batch.runEnd) s.endRunByRid.run(Math.round(batch.runEnd.t - shift), batch.runEnd.exitCode, batch.runEnd.signal ?? null, rid);
        if (batch.workload) saveFingerprint(this.db, { rid, hid, agentId, t: now, kind: 'workload', body: batch.workload });
        if (batch.clock) s.insertClock.run(agentId, now, batch.clock.offsetMs, batch.clock.errorMs);
        s.touchAgent.run(now, agentId);
        res.duplicate.push(false);
        res.samples += batch.samples.length;
      }
      return res;
    })();
  }

  listRuns(): RunSummary[] {
    return runSummaries(this.db, null);
  }

  run(runId: string): RunSummary | null {
    return runSummaries(this.db, runId)[0] ?? null;
  }

  /** A run's samples in time order, optionally for one host. */
  *samples(runId: string, host?: string): Generator<StoredSample> {
    const rows = this.db
      .prepare(
        `SELECT s.t, h.name AS host, s.source, s.gpu, s.m FROM samples s JOIN runs r ON r.rid = s.rid JOIN hosts h ON h.hid = s.hid
         WHERE r.id = ? ${host === undefined ? '' : 'AND h.name = ?'} ORDER BY s.hid, s.t`,
      )
      .iterate(...(host === undefined ? [runId] : [runId, host])) as Iterable<SampleRow & { host: string }>;
    for (const r of rows) yield this.sampleFromRow(r, r.host);
  }

  /** A run's marks in time order, times on the collector's clock. */
  marks(runId: string): StoredMark[] {
    const rows = this.db
      .prepare(
        `SELECT h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.gauges, m.source, m.timing, m.category, m.dropped, m.inferred FROM marks m
         JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE r.id = ? ORDER BY m.t, m.rowid`,
      )
      .all(runId) as Array<MarkRow & { host: string }>;
    return rows.map(markFromRow);
  }

  /** GPU index → name per host, as the agents announced them. */
  gpus(runId: string): Array<{ host: string; index: number; name: string }> {
    return this.db
      .prepare(
        `SELECT h.name AS host, g.idx AS "index", g.name FROM gpus g JOIN hosts h ON h.hid = g.hid
         JOIN run_hosts rh ON rh.hid = g.hid JOIN runs r ON r.rid = rh.rid WHERE r.id = ? ORDER BY h.name, g.idx`,
      )
      .all(runId) as Array<{ host: string; index: number; name: string }>;
  }

  /** Hosts with the run each streams to now and when it was last heard from. */
  hosts(): Array<{ host: string; runId: string; lastSeen: number; gpus: Array<{ index: number; name: string }> }> {
    const rows = this.db
      .prepare(
        `SELECT h.name AS host, r.id AS runId, max(a.last_seen) AS lastSeen FROM agents a JOIN hosts h ON h.hid = a.hid
         JOIN runs r ON r.rid = a.rid GROUP BY h.hid ORDER BY h.name`,
      )
      .all() as Array<{ host: string; runId: string; lastSeen: number }>;
    const gpus = this.db.prepare('SELECT h.name AS host, g.idx AS "index", g.name FROM gpus g JOIN hosts h ON h.hid = g.hid ORDER BY g.idx').all() as Array<{ host: string; index: number; name: string }>;
    return rows.map((r) => ({ ...r, gpus: gpus.filter((g) => g.host === r.host).map(({ index, name }) => ({ index, name })) }));
  }

  /** A host's samples since t in the run it streams to now (what a live view starts from). */
  recent(host: string, since: number): { runId: string | null; samples: StoredSample[]; marks: StoredMark[] } {
    const cur = this.db
      .prepare('SELECT a.rid, a.hid, r.id AS runId FROM agents a JOIN hosts h ON h.hid = a.hid JOIN runs r ON r.rid = a.rid WHERE h.name = ? ORDER BY a.last_seen DESC LIMIT 1')
      .get(host) as { rid: number; hid: number; runId: string } | undefined;
    if (!cur) return { runId: null, samples: [], marks: [] };
    const rows = this.db
      .prepare('SELECT t, source, gpu, m FROM samples WHERE rid = ? AND hid = ? AND t >= ? ORDER BY t')
      .all(cur.rid, cur.hid, since) as SampleRow[];
    const samples = rows.map((r) => this.sampleFromRow(r, host));
    return { runId: cur.runId, samples, marks: this.marks(cur.runId).filter((m) => m.host === host && m.timing === undefined) };
  }

  counts(): { samples: number; batches: number } {
    const samples = (this.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n;
    const batches = (this.db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
    return { samples, batches };
  }

  close(): void {
    this.db.close();
  }
}
