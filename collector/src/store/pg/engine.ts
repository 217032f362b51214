import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { NotFoundError, StagewatchError, type Hello } from '@stagewatch/shared';
import type { RecentData, StoredElsewhere, StoreEngine } from '../engine.js';
import type { AgentRegistration, HostSeen, PendingBatch, RunSummary, WriteResult } from '../rows.js';
import type { SqliteStore } from '../sqlite.js';
import { copyRuns } from './copy-runs.js';
import { PgIds } from './ids.js';
import { CHANNEL, notices, PgListener } from './notify.js';
import type { PgRetentionSession } from './pruner.js';
import { PgRetention, RETENTION_LOCK } from './retention.js';
import { RunCopies } from './run-cache.js';
import { hostsPg, recentPg, runSummariesPg, type NamesFor } from './reads.js';
import { checkPg, migratePg } from './schema.js';
import { registerAgentPg, writeBatchesPg, type Learned } from './writes.js';

/** int8 (counts, times in ms, ids) as numbers: every one fits in 2^53 (seqs are capped there by the protocol). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/** Deadlock and serialization failures: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 5;

/** What an import writes through, inside PgEngine.importing's one transaction. */
export interface PgImportWriter {
  /** An imported hello (no claim on the id: no key asked for, a bound one kept); the agent's host row id. */
  registerAgent(hello: Hello, now: number): Promise<number>;
  /** As writeBatches; per item, whether that (agent, seq) was stored already. */
  writeBatches(items: readonly PendingBatch[], now: number): Promise<boolean[]>;
}

/** The URL without its password, for the log and messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The PostgreSQL engine: several collectors write to one database and any of them serves any
 * run. Exactly once holds across collectors as it does in one SQLite file: a batch's (agent, seq)
 * row and its blocks commit in one transaction, and the primary key on (agent, seq) makes the
 * second of two collectors that store the same batch find it stored. After each commit a NOTIFY
 * tells the other collectors which blocks and marks are new, for their live views.
 */
export class PgEngine implements StoreEngine {
  readonly kind = 'postgres';
  readonly parallelCommits: number;
  private readonly ids = new PgIds();
  private readonly tags = new Map<string, { uuid: string; name: string }>();
  /** This collector's name in notices (its own are skipped). */
  private readonly self = randomUUID();
  private listener: PgListener | null = null;
  private listening: Promise<void> = Promise.resolve();
  private readonly copies: RunCopies;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.PoolConfig,
    readonly where: string,
    private readonly log: (msg: string) => void,
  ) {
    // All but one pooled connection for commits: reads (reports, the live view's backfill) get the last.
    this.parallelCommits = Math.max(1, (config.max ?? 4) - 1);
    this.copies = new RunCopies(pool, (ids) => this.copyRuns(ids));
  }

  /** `reader`: only read an existing store of this version (never create or migrate one). */
  static async open(url: string, log: (msg: string) => void, opts: { poolSize?: number; reader?: boolean } = {}): Promise<PgEngine> {
    const where = redactedUrl(url);
    // A server that does not answer a connect fails it in 10 s rather than holding hellos and
    // commits for ever; TCP keep-alive finds a connection whose peer vanished.
    const config: pg.PoolConfig = { connectionString: url, max: opts.poolSize ?? 4, types, application_name: 'stagewatch-collector', connectionTimeoutMillis: 10_000, keepAlive: true };
    const pool = new pg.Pool(config);
    // An idle pooled connection that breaks (the server restarted) is dropped and replaced; without
    // a listener the error would end the process.
    pool.on('error', (e) => log(`PostgreSQL connection lost: ${e.message}`));
    try {
      const c = await pool.connect();
      try {
        await (opts.reader ? checkPg(c, where) : migratePg(c, where));
      } finally {
        c.release();
      }
      const engine = new PgEngine(pool, config, where, log);
      await engine.ids.loadMetrics(pool);
      return engine;
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (e instanceof StagewatchError || e instanceof NotFoundError) throw e;
      throw new StagewatchError('store-open', `cannot open the PostgreSQL store ${where}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** fn in one transaction, run again (up to ATTEMPTS times) where PostgreSQL broke a deadlock by aborting it. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      // A connection whose ROLLBACK failed is broken (the server went away): the pool drops it.
      let broken = false;
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        broken = await c.query('ROLLBACK').then(() => false, () => true);
        if (attempt >= ATTEMPTS || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
      } finally {
        c.release(broken);
      }
    }
  }

  async registerAgent(hello: Hello, now: number, agentKey: string | null): Promise<AgentRegistration> {
    const { reg, learned } = await this.transaction((c) => registerAgentPg(c, this.ids, hello, now, agentKey));
    this.ids.learn(learned);
    for (const g of hello.gpus) this.tags.set(`${hello.host}\u0000${g.index}`, { uuid: g.uuid, name: g.name });
    return reg;
  }

  async writeBatches(items: readonly PendingBatch[], now: number): Promise<WriteResult> {
    await this.ids.resolve(this.pool, items);
    const { res, learned } = await this.transaction(async (c) => {
      const w = await writeBatchesPg(c, this.ids, items, now);
      // Delivered at COMMIT, and only if it commits.
      for (const payload of notices(this.self, w.byHost)) await c.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
      return w;
    });
    this.ids.learn(learned);
    return res;
  }

  /** The seqs stored of each of these agents (by any collector or import). */
  async storedSeqs(agentIds: readonly string[]): Promise<Map<string, Set<number>>> {
    const out = new Map<string, Set<number>>(agentIds.map((a) => [a, new Set<number>()]));
    const { rows } = await this.pool.query<{ agent_id: string; seq: number }>('SELECT agent_id, seq FROM batches WHERE agent_id = ANY($1::text[])', [[...agentIds]]);
    for (const r of rows) out.get(r.agent_id)?.add(Number(r.seq));
    return out;
  }

  /**
   * fn in one transaction (an import stores a file whole or not at all). Where PostgreSQL breaks
   * a deadlock by aborting it, fn runs again from the start: it must keep no state across runs.
   * No NOTIFY: an imported run is not live, and the other collectors' live views stream agents.
   */
  async importing<T>(fn: (w: PgImportWriter) => Promise<T>): Promise<T> {
    let learned: Learned[] = [];
    const out = await this.transaction((c) => {
      learned = [];
      return fn({
        registerAgent: async (hello, now) => {
          const r = await registerAgentPg(c, this.ids, hello, now, null, true);
          learned.push(r.learned);
          return r.reg.hid;
        },
        writeBatches: async (items, now) => {
          // Metric ids in their own statements on another connection, as writeBatches does.
          await this.ids.resolve(this.pool, items);
          const w = await writeBatchesPg(c, this.ids, items, now);
          learned.push(w.learned);
          return w.res.duplicate;
        },
      });
    });
    for (const l of learned) this.ids.learn(l);
    return out;
  }

  listRuns(): Promise<RunSummary[]> {
    return runSummariesPg(this.pool, null);
  }

  async run(runId: string): Promise<RunSummary | null> {
    return (await runSummariesPg(this.pool, runId))[0] ?? null;
  }

  hosts(): Promise<HostSeen[]> {
    return hostsPg(this.pool);
  }

  /** Names of metric ids, reading the table again where a block has an id this collector has not seen. */
  private readonly namesFor: NamesFor = async (blocks) => {
    if (blocks.some((b) => b.ids.some((id) => this.ids.nameOf(id) === undefined))) await this.ids.loadMetrics(this.pool);
    return (id) => this.ids.nameOf(id) ?? `#${id}`;
  };

  recent(host: string, since: number): Promise<RecentData> {
    return recentPg(this.pool, host, since, this.namesFor);
  }

  gpuTags(): Map<string, { uuid: string; name: string }> {
    return new Map(this.tags);
  }

  /**
   * A retention pass's hold: its own connection (not the pool's: commits and reads keep theirs)
   * holding the retention lock, or null where another collector holds it (it prunes this pass).
   * The lock is the session's: a collector that dies lets go of it with its connection.
   */
  async retentionSession(): Promise<PgRetentionSession | null> {
    const c = new pg.Client(this.config);
    c.on('error', (e) => this.log(`retention: PostgreSQL connection lost: ${e.message}`));
    await c.connect();
    try {
      const { rows } = await c.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [RETENTION_LOCK]);
      if (!rows[0]?.held) {
        await c.end();
        return null;
      }
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    const names = async (ids: readonly number[]): Promise<(id: number) => string> => {
      if (ids.some((id) => this.ids.nameOf(id) === undefined)) await this.ids.loadMetrics(this.pool);
      return (id) => {
        const name = this.ids.nameOf(id);
        if (name === undefined) throw new StagewatchError('store-metrics', `metric id ${id} has no name in metric_names`);
        return name;
      };
    };
    return {
      target: new PgRetention(c, names),
      // Ending the connection lets go of the lock too; the unlock first says so plainly.
      close: async () => {
        await c.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]).catch(() => undefined);
        await c.end().catch(() => undefined);
      },
    };
  }

  /** The named runs in an in-memory SQLite store (copy-runs.ts); the caller closes it. */
  copyRuns(runIds: readonly string[]): Promise<SqliteStore> {
    return copyRuns(this.pool, runIds, this.where);
  }

  readRuns<T>(runIds: readonly string[], fn: (store: SqliteStore) => T): Promise<T> {
    return this.copies.read(runIds, fn);
  }

  watchElsewhere(wanted: (host: string) => boolean, deliver: (s: StoredElsewhere) => void): void {
    if (this.listener) throw new StagewatchError('store-engine', 'watchElsewhere was already called');
    this.listener = new PgListener(this.config, this.pool, this.self, this.namesFor, wanted, deliver, this.log);
    this.listening = this.listener.start().catch((e: Error) => this.log(`cannot LISTEN for other collectors' batches: ${e.message}; live views show this collector's agents only`));
  }

  sinkSource(): null {
    return null;
  }

  async close(): Promise<void> {
    this.copies.close();
    await this.listener?.close();
    await this.listening;
    await this.pool.end();
  }
}
