import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Hello } from '@stagewatch/shared';
import { ByteWriter, NotFoundError, StagewatchError } from '@stagewatch/shared';
import type { SinkSource } from '../sinks/types.js';
import { BlockReads, sampleOf } from './block-reads.js';
import { movedBlocks } from './blocks.js';
import { CursorReads } from './cursor-reads.js';
import { saveFingerprint, type FingerprintRow, type HelloRow } from './fingerprints.js';
import { agentClockOf, agentHellosOf, agentLossOf, fingerprintRowsOf, gpusOf, hostsSeen, marksOf, storedBatchesOf, type AgentLoss } from './meta-reads.js';
import type { AgentRegistration, PendingBatch, RunSummary } from './rows.js';
import type { HostSeen, StoredMark, StoredSample, WriteResult } from './rows.js';
import { runSummaries } from './runs.js';
import { migrate } from './schema.js';
import { ReportReads } from './report-reads.js';
import { NEXT_SEQ_KEY } from './retention/schema.js';
import { SqliteRetention } from './retention/sqlite-target.js';
import type { RetentionTarget } from './retention/target.js';
import { prepareWrites, type WriteStatements } from './statements.js';

export * from './rows.js';

export const STORE_FILE = 'stagewatch.sqlite';

/**
 * The embedded store: one SQLite file (WAL) under the data directory. It is the source of truth;
 * a batch's samples and its (agent, seq) mark commit in one transaction, so a batch is stored
 * exactly once however often it is resent. Samples are stored as the agent's column blocks
 * (blocks.ts), a row per series of a batch, and decoded as they are read.
 */
export class SqliteStore {
  /** Private: everything outside reads and writes through the methods here, sinkSource() and reportReads(). */
  private readonly db: Database.Database;
  private readonly metricIds = new Map<string, number>();
  private readonly metricNames = new Map<number, string>();
  private readonly stmts: WriteStatements;
  /** Read statements by SQL, prepared on first use and reused. */
  private readonly reads = new Map<string, Database.Statement>();
  /** stmt() as a function, for the reads kept in their own modules (meta-reads.ts, runs.ts). */
  private readonly read = (sql: string): Database.Statement => this.stmt(sql);
  private cursorReads: CursorReads | null = null;
  private reportReadsOf: ReportReads | null = null;
  private readonly idOf = (name: string): number => this.metricIds.get(name) ?? this.newMetricId(name);
  private readonly runRids = new Map<string, number>();
  private readonly dataStarts = new Map<number, number>();
  private readonly writer = new ByteWriter(1 << 16);
  private readonly blockReads: BlockReads;
  private readonly nameOf = (id: number): string => this.metricNames.get(id) ?? `#${id}`;
  /** The sequence number the next stored sample gets (CursorReads: sink cursors count samples). */
  private nextSeq: number;

  /** The store's file, for messages that must say which store they read. */
  readonly file: string;

  /**
   * `mustExist`: open only a store that is there (a reader never creates one as a side effect).
   * `image`: an in-memory store from a serialized database (runs copied out of PostgreSQL,
   * pg/copy-runs.ts); `dataDir` then names where it came from, for messages.
   */
  constructor(dataDir: string, opts: { mustExist?: boolean; image?: Buffer } = {}) {
    this.file = opts.image ? dataDir : path.resolve(dataDir, STORE_FILE);
    if (opts.image) {
      // Nothing on disk to check or create.
    } else if (opts.mustExist) {
      if (!existsSync(this.file)) throw new NotFoundError(`no store at ${this.file} (give --data DIR: the directory the collector was started with)`);
    } else {
      mkdirSync(dataDir, { recursive: true });
    }
    try {
      this.db = new Database(opts.image ?? this.file, { fileMustExist: opts.mustExist ?? false });
    } catch (e) {
      throw new StagewatchError('store-open', `cannot open the store in ${dataDir}: ${(e as Error).message}`, { cause: e });
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (SIGKILL); only power loss can drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    // A bigger page cache keeps the samples index in memory while hundreds of agents write.
    this.db.pragma('cache_size = -131072');
    try {
      migrate(this.db, this.file);
    } catch (e) {
      this.db.close();
      throw e;
    }
    for (const r of this.db.prepare('SELECT id, name FROM metric_names').all() as Array<{ id: number; name: string }>) {
      this.metricIds.set(r.name, r.id);
      this.metricNames.set(r.id, r.name);
    }
    this.stmts = prepareWrites(this.db);
    this.blockReads = new BlockReads((sql) => this.stmt(sql));
    this.nextSeq = (this.db.prepare('SELECT s0 + n AS next FROM blocks ORDER BY s0 DESC LIMIT 1').get() as { next: number } | undefined)?.next ?? 1;
    // Pruning (retention/) may have taken the newest raw blocks: numbers already given are never reused.
    const kept = this.db.prepare('SELECT CAST(value AS INTEGER) AS next FROM meta WHERE key = ?').get(NEXT_SEQ_KEY) as { next: number } | undefined;
    if (kept && kept.next > this.nextSeq) this.nextSeq = kept.next;
  }

  /**
   * A prepared read, reused across calls. A statement still being iterated (a generator not yet
   * finished) cannot run again, so a busy one is left alone and a fresh one serves this call.
   */
  private stmt(sql: string): Database.Statement {
    const cached = this.reads.get(sql);
    if (cached && !cached.busy) return cached;
    const fresh = this.db.prepare(sql);
    if (!cached) this.reads.set(sql, fresh);
    return fresh;
  }

  /** What sinks read: rows past their cursors, and the cursors themselves. */
  sinkSource(): SinkSource {
    this.cursorReads ??= new CursorReads(this.db, this.nameOf);
    return this.cursorReads;
  }

  /** What the report reads: samples decoded from their blocks as they stream (report-reads.ts). */
  reportReads(): ReportReads {
    this.reportReadsOf ??= new ReportReads((sql) => this.stmt(sql), this.blockReads, this.nameOf);
    return this.reportReadsOf;
  }

  /** What the pruner works on (retention/pruner.ts). */
  retentionTarget(): RetentionTarget {
    return new SqliteRetention(this.db, this.nameOf);
  }

  /** GPU uuid and name by `host\u0000index`, for tags. */
  gpuTags(): Map<string, { uuid: string; name: string }> {
    return this.sinkSource().gpuTags();
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

  /**
   * Records an agent's hello; returns where its samples go and which seqs are already stored.
   * `agentKey` (see AGENT_KEY_HEADER): the first one seen binds the id; another is refused with a
   * StagewatchError 'agent-key', as is none once one is bound. `imported`: the hello comes from a
   * run file that whoever holds the data directory imports; it is not a claim on the id, so no
   * key is asked for and a bound one is kept.
   */
  registerAgent(hello: Hello, now: number, agentKey: string | null = null, imported = false): AgentRegistration {
    // A digest of a random 128-bit key: comparing digests leaks nothing that helps find the key.
    const keyHash = agentKey === null ? null : createHash('sha256').update(agentKey).digest('hex');
    return this.db.transaction((): AgentRegistration => {
      const bound = this.stmts.agentBinding.get(hello.agentId) as { keyHash: string | null; storedThrough: number } | undefined;
      if (bound?.keyHash && bound.keyHash !== keyHash && !imported) {
        throw new StagewatchError('agent-key', `agent id ${hello.agentId} belongs to another agent (${keyHash ? 'its key does not match' : 'no key presented'})`);
      }
      const hid = (this.stmts.insertHost.get(hello.host) as { hid: number }).hid;
      const runId = hello.runId ?? `timeline:${hello.host}`;
      const rid = this.ridFor(hello.runId, hello.host, hid, now);
      this.stmts.upsertAgent.run(hello.agentId, hid, rid, now, now, JSON.stringify(hello), keyHash);
      if (hello.labels && Object.keys(hello.labels).length > 0) this.stmts.setLabels.run(JSON.stringify(hello.labels), rid);
      for (const g of hello.gpus) this.stmts.upsertGpu.run(hid, g.index, g.uuid, g.name, g.memTotalMib);
      if (hello.fingerprint) saveFingerprint(this.stmts, { rid, hid, agentId: hello.agentId, t: now, kind: 'host', body: hello.fingerprint });
      const storedThrough = this.advanceStoredThrough(hello.agentId, bound?.storedThrough ?? 0);
      return { rid, hid, runId, storedThrough };
    })();
  }

  /**
   * The end of the run of stored seqs 1..n, found by walking on from where the last hello left it
   * (kept in agents.stored_through): a hello reads the seqs stored since, not all of them.
   */
  private advanceStoredThrough(agentId: string, from: number): number {
    let through = from;
    for (;;) {
      const seqs = (this.stmts.seqsAfter.all(agentId, through) as Array<{ seq: number }>).map((r) => r.seq);
      let i = 0;
      while (i < seqs.length && seqs[i] === through + 1) through = seqs[i++] as number;
      if (i < 256) break;
    }
    if (through !== from) this.stmts.setStoredThrough.run(through, agentId);
    return through;
  }

  /** Stores many batches in one transaction (group commit); duplicates are recognised and skipped. */
  writeBatches(items: readonly PendingBatch[], now: number): WriteResult {
    let seq = this.nextSeq;
    const res = this.db.transaction((): WriteResult => {
      const res: WriteResult = { duplicate: [], samples: 0 };
      const s = this.stmts;
      for (const { agentId, hid, host, batch, blocks, samples } of items) {
        if (s.insertBatch.run(agentId, batch.seq, samples, now).changes === 0) {
          res.duplicate.push(true);
          continue;
        }
        const rid = this.ridFor(batch.runId, host, hid, now);
        const { shift, first, blocks: moved } = movedBlocks(blocks, batch, this.idOf, this.writer);
        for (const b of moved) {
          s.insertBlock.run(rid, hid, b.t0, b.t1, seq, b.n, b.source, b.data);
          seq += b.n;
        }
        for (const k of batch.marks) {
          s.insertMark.run(
            rid, hid, agentId, k.t - shift, k.kind, k.stage, k.step ?? null, k.rank ?? null, k.gauges ? JSON.stringify(k.gauges) : null, k.source,
            k.timing ?? null, k.category ?? null, k.dropped ?? null, k.inferred ?? null,
          );
        }
        for (const h of batch.health) s.insertHealth.run(agentId, Math.round(h.t - shift), h.sampler, h.state, h.error ?? null, JSON.stringify(h));
        const l = batch.loss;
        if (l.batches > 0 || l.corrupt > 0 || l.rejected > 0) s.upsertLoss.run(agentId, l.batches, l.samples, l.corrupt, l.rejected, l.quarantinedSamples, now);
        // A run's first data only moves earlier: most batches skip the UPDATE.
        if (first < (this.dataStarts.get(rid) ?? Infinity)) {
          s.dataStart.run({ t: first, rid });
          this.dataStarts.set(rid, first);
        }
        if (batch.runEnd) s.endRunByRid.run(Math.round(batch.runEnd.t - shift), batch.runEnd.exitCode, batch.runEnd.signal ?? null, rid);
        if (batch.workload) saveFingerprint(this.stmts, { rid, hid, agentId, t: now, kind: 'workload', body: batch.workload });
        if (batch.clock) s.insertClock.run(agentId, now, batch.clock.offsetMs, batch.clock.errorMs);
        s.touchAgent.run(now, agentId);
        res.duplicate.push(false);
        res.samples += samples;
      }
      return res;
    })();
    // Only once committed: a rolled-back transaction numbered nothing.
    this.nextSeq = seq;
    return res;
  }

  /** Runs fn in one transaction (the store's own writes nest in it): an import commits whole or not at all. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  listRuns(): RunSummary[] {
    return runSummaries(this.read, null);
  }

  run(runId: string): RunSummary | null {
    return runSummaries(this.read, runId)[0] ?? null;
  }

  /** A run's samples in time order host by host, optionally for one host. */
  *samples(runId: string, host?: string): Generator<StoredSample> {
    const hosts = this
      .stmt('SELECT r.rid, h.hid, h.name FROM runs r JOIN run_hosts rh ON rh.rid = r.rid JOIN hosts h ON h.hid = rh.hid WHERE r.id = ? ORDER BY h.hid')
      .all(runId) as Array<{ rid: number; hid: number; name: string }>;
    for (const h of hosts) {
      if (host !== undefined && h.name !== host) continue;
      // A host at a time: the merge visits by callback, so one host's samples are gathered first.
      const out: StoredSample[] = [];
      this.blockReads.forEach(h.rid, h.hid, null, (b, i) => out.push(sampleOf(b, i, h.name, this.nameOf)));
      yield* out;
    }
  }

  /** A run's marks in time order, times on the collector's clock. */
  marks(runId: string): StoredMark[] {
    return marksOf(this.read, runId);
  }

  /** GPU index → name per host, as the agents announced them. */
  gpus(runId: string): Array<{ host: string; index: number; name: string }> {
    return gpusOf(this.read, runId);
  }

  /** Hosts with the run each streams to now and when it was last heard from. */
  hosts(): HostSeen[] {
    return hostsSeen(this.read);
  }

  /** A host's samples since t in the run it streams to now (what a live view starts from). */
  recent(host: string, since: number): { runId: string | null; samples: StoredSample[]; marks: StoredMark[] } {
    const cur = this
      .stmt('SELECT a.rid, a.hid, r.id AS runId FROM agents a JOIN hosts h ON h.hid = a.hid JOIN runs r ON r.rid = a.rid WHERE h.name = ? ORDER BY a.last_seen DESC LIMIT 1')
      .get(host) as { rid: number; hid: number; runId: string } | undefined;
    if (!cur) return { runId: null, samples: [], marks: [] };
    const samples: StoredSample[] = [];
    this.blockReads.forEach(cur.rid, cur.hid, since, (b, i) => samples.push(sampleOf(b, i, host, this.nameOf)));
    return { runId: cur.runId, samples, marks: this.marks(cur.runId).filter((m) => m.host === host && m.timing === undefined) };
  }

  /** A run's stored fingerprints, oldest first (fingerprints.ts reads them). */
  fingerprintRows(runId: string): FingerprintRow[] {
    return fingerprintRowsOf(this.read, runId);
  }

  /** The last hello of each agent of a run, least recently seen first. */
  agentHellos(runId: string): HelloRow[] {
    return agentHellosOf(this.read, runId);
  }

  /** What an agent last said it lost: dropped from a full spool, or quarantined. */
  agentLoss(agentId: string): AgentLoss | null {
    return agentLossOf(this.read, agentId);
  }

  /** Clock estimates an agent's batches carried, oldest first. */
  agentClock(agentId: string): Array<{ offsetMs: number; errorMs: number }> {
    return agentClockOf(this.read, agentId);
  }

  /** The seqs stored for an agent, with each batch's sample count: to check delivery after the fact. */
  storedBatches(agentId: string): Array<{ seq: number; samples: number }> {
    return storedBatchesOf(this.read, agentId);
  }

  /** SQLite's own consistency check of the whole file: ['ok'] when sound. */
  integrityCheck(): string[] {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  }

  close(): void {
    this.db.close();
  }
}
