import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStagewatchError, type Hello } from '@stagewatch/shared';
import { DEFAULT_THRESHOLDS } from '../collector/src/analysis/thresholds.js';
import { makeReport } from '../collector/src/report/index.js';
import { bucketSeriesFromStore } from '../collector/src/report/series.js';
import type { StoredElsewhere } from '../collector/src/store/engine.js';
import { PgEngine } from '../collector/src/store/pg/engine.js';
import { pendingBatch } from '../collector/src/store/rows.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { FIXTURES } from './helpers/fixtures.js';
import { capturedAgents, rechunk, type ReplayAgent } from './helpers/pg-replay.js';
import { pgQuery, startPostgres, withPgClient, type PgServer } from './helpers/postgres.js';
import { waitFor } from './helpers/processes.js';
import { useScratch } from './helpers/scratch.js';

const scratch = useScratch('stagewatch-pg-engine-');
const RUN = 'phases';
const NOW = 1_700_000_000_000;
const log = (): void => undefined;

let server: PgServer;
let dbs = 0;
const engines: PgEngine[] = [];
/** A fresh database on the test server, and engines on it (closed after the file's tests). */
async function freshDb(): Promise<string> {
  const name = `t${++dbs}`;
  await server.createDatabase(name);
  return server.urlOf(name);
}
async function open(url: string): Promise<PgEngine> {
  const e = await PgEngine.open(url, log);
  engines.push(e);
  return e;
}

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await server?.stop();
});

/** What a report, the UI and an export read of a run: the same on both engines when the same batches went in. */
function readable(s: SqliteStore, runId: string) {
  const run = s.run(runId);
  return {
    run,
    samples: [...s.samples(runId)],
    marks: s.marks(runId),
    fingerprints: s.fingerprintRows(runId),
    gpus: s.gpus(runId),
    hellos: s.agentHellos(runId),
    report: makeReport(s, runId),
    series: (run?.hosts ?? []).map((h) => bucketSeriesFromStore(s, runId, h, 300, DEFAULT_THRESHOLDS.gpmLagMs)),
  };
}

describe('the PostgreSQL engine on a real PostgreSQL', () => {
  let agents: ReplayAgent[];
  beforeAll(() => {
    agents = capturedAgents(path.join(FIXTURES, 'phases-h100', 'store.sqlite.gz'), scratch(), RUN).map((a) => rechunk(a, 400));
  });

  it('a captured H100 run written through two engines, every third batch through both at once, reads back as the SQLite store holds it', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const sqlite = new SqliteStore(scratch());
    let batches = 0;
    let samples = 0;
    try {
      for (const { hello, batches: bs } of agents) {
        const hid = sqlite.registerAgent(hello, NOW).hid;
        const [ra, rb] = [await a.registerAgent(hello, NOW, null), await b.registerAgent(hello, NOW, null)];
        expect(rb.hid).toBe(ra.hid);
        for (const [i, batch] of bs.entries()) {
          const item = pendingBatch(hello.agentId, hid, hello.host, batch);
          sqlite.writeBatches([item], NOW);
          batches++;
          samples += item.samples;
          if (i % 3 === 0) {
            // The same batch from two collectors at once: one stores it, the other finds it stored.
            const [x, y] = await Promise.all([a.writeBatches([item], NOW), b.writeBatches([item], NOW)]);
            expect([x.duplicate[0], y.duplicate[0]].sort()).toEqual([false, true]);
            expect(x.samples + y.samples).toBe(item.samples);
          } else {
            const r = await (i % 2 === 0 ? a : b).writeBatches([item, item], NOW);
            // Twice in one group: stored once.
            expect(r.duplicate).toEqual([false, true]);
          }
        }
      }
      expect(batches).toBeGreaterThan(10);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const counts = (await c.query('SELECT count(*)::int AS batches, sum(samples)::int AS samples FROM batches')).rows[0];
      const blockSamples = (await c.query('SELECT sum(n)::int AS n FROM blocks')).rows[0].n;
      const names = (await c.query('SELECT count(*)::int AS n, count(DISTINCT name)::int AS d FROM metric_names')).rows[0];
      await c.end();
      expect(counts).toEqual({ batches, samples });
      expect(blockSamples).toBe(samples);
      expect(names.n).toBe(names.d);
      const want = readable(sqlite, RUN);
      expect(want.samples.length).toBe(samples);
      expect(await a.readRuns([RUN], (s) => readable(s, RUN))).toEqual(want);
      expect(await b.readRuns([RUN], (s) => readable(s, RUN))).toEqual(want);
      expect(await a.listRuns()).toEqual(sqlite.listRuns());
      expect(await b.hosts()).toEqual(sqlite.hosts());
      const host = agents[0]?.hello.host as string;
      const since = (want.samples.at(-1)?.t ?? 0) - 20_000;
      expect(await b.recent(host, since)).toEqual(sqlite.recent(host, since));
    } finally {
      sqlite.close();
    }
  }, 120_000);

  it("binds an agent id to its first key across collectors, also when two collectors see a new id at once", async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const hello = { ...(agents[0] as ReplayAgent).hello, agentId: 'bound-agent' } as Hello;
    await a.registerAgent(hello, NOW, 'key-one');
    const refused = async (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: unknown) => (isStagewatchError(e, 'agent-key') ? 'refused' : `failed: ${(e as Error).message}`));
    expect(await refused(b.registerAgent(hello, NOW, 'key-two'))).toBe('refused');
    expect(await refused(b.registerAgent(hello, NOW, null))).toBe('refused');
    expect(await refused(b.registerAgent(hello, NOW, 'key-one'))).toBe('accepted');
    const fresh = { ...hello, agentId: 'raced-agent' };
    const outcomes = await Promise.all([refused(a.registerAgent(fresh, NOW, 'key-a')), refused(b.registerAgent(fresh, NOW, 'key-b'))]);
    expect(outcomes.sort()).toEqual(['accepted', 'refused']);
  }, 60_000);

  it('tells a collector what another one stored (LISTEN/NOTIFY), decoded as the writer stored it', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const got: StoredElsewhere[] = [];
    b.watchElsewhere(() => true, (s) => got.push(s));
    const own: StoredElsewhere[] = [];
    a.watchElsewhere(() => true, (s) => own.push(s));
    const { hello, batches } = agents[0] as ReplayAgent;
    const reg = await a.registerAgent(hello, NOW, null);
    // The listener connects asynchronously: a notice sent before it LISTENs is not seen.
    await waitFor('the listener', async () => {
      const n = (await pgQuery(url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")).rows[0].n as number;
      return n >= 2;
    });
    const sent = batches.slice(0, 3);
    const r = await a.writeBatches(sent.map((x) => pendingBatch(hello.agentId, reg.hid, hello.host, x)), NOW);
    expect(r.duplicate).toEqual([false, false, false]);
    const want = sent.reduce((n, x) => n + x.samples.length, 0);
    await waitFor('the other collector to hear of the samples', () => got.reduce((n, s) => n + s.samples.length, 0) >= want);
    const recent = await b.recent(hello.host, 0);
    expect(got.flatMap((s) => s.samples)).toEqual(expect.arrayContaining(recent.samples));
    expect(got.reduce((n, s) => n + s.samples.length, 0)).toBe(recent.samples.length);
    expect(new Set(got.map((s) => s.runId))).toEqual(new Set([RUN]));
    expect(own).toEqual([]);
  }, 60_000);

  it('reuses a copy of a run for reads until anything of the run changes, whichever collector changed it', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const { hello, batches } = agents[0] as ReplayAgent;
    const reg = await a.registerAgent(hello, NOW, null);
    await a.writeBatches([pendingBatch(hello.agentId, reg.hid, hello.host, batches[0] as (typeof batches)[number])], NOW);
    const seen: SqliteStore[] = [];
    const count = (s: SqliteStore): number => {
      seen.push(s);
      return [...s.samples(RUN)].length;
    };
    const n1 = await a.readRuns([RUN], count);
    expect(await a.readRuns([RUN], count)).toBe(n1);
    expect(seen[1]).toBe(seen[0]);
    // Another collector stores the next batch: the next read copies the run again.
    await b.writeBatches([pendingBatch(hello.agentId, reg.hid, hello.host, batches[1] as (typeof batches)[number])], NOW);
    expect(await a.readRuns([RUN], count)).toBe(n1 + (batches[1]?.samples.length ?? NaN));
    expect(seen[2]).not.toBe(seen[1]);
    // A change without samples (the run's labels, by a hello) is seen too.
    await b.registerAgent({ ...hello, labels: { model: 'wan2.2' } }, NOW + 1, null);
    expect(await a.readRuns([RUN], (s) => s.run(RUN)?.labels)).toEqual({ model: 'wan2.2' });
  }, 60_000);

  it('a transaction PostgreSQL aborts to break a deadlock runs again, and the batch is stored once', async () => {
    const url = await freshDb();
    const a = await open(url);
    const { hello, batches } = agents[0] as ReplayAgent;
    const agent = { ...hello, agentId: 'deadlock-agent' } as Hello;
    const reg = await a.registerAgent(agent, NOW, null);
    const item = pendingBatch(agent.agentId, reg.hid, agent.host, batches[0] as (typeof batches)[number]);
    // Another session holds the agent's row, which the batch's transaction updates last...
    const x = new pg.Client({ connectionString: url });
    await x.connect();
    // ...and checks for deadlocks late, so the collector's transaction is the one aborted.
    await x.query("SET deadlock_timeout = '10s'");
    await x.query('BEGIN');
    await x.query('UPDATE agents SET last_seen = last_seen WHERE id = $1', [agent.agentId]);
    const write = a.writeBatches([item], NOW);
    const waiting = async (): Promise<boolean> => {
      const { rows } = await x.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
      return (rows[0] as { n: number }).n > 0;
    };
    await waitFor('the batch to wait for the agent row', waiting);
    // ...then wants the batch's key, which the collector's transaction holds: a cycle.
    await x.query('INSERT INTO batches(agent_id, seq, samples, stored_at) VALUES ($1, 1, 0, 0) ON CONFLICT DO NOTHING', [agent.agentId]);
    // The collector's retry now waits for this session's key; its rollback lets the retry store the batch.
    await x.query('ROLLBACK');
    expect(await write).toEqual({ duplicate: [false], samples: item.samples });
    const deadlocks = async (): Promise<number> => ((await x.query('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0] as { n: number }).n;
    await waitFor('the deadlock to be counted', async () => (await deadlocks()) >= 1);
    const { rows } = await x.query('SELECT count(*)::int AS batches, (SELECT sum(n)::int FROM blocks) AS samples FROM batches');
    await x.end();
    expect(rows[0]).toEqual({ batches: 1, samples: item.samples });
  }, 60_000);

  it('a database it cannot reach is an error naming it, its password hidden; a reader finds no store in an empty database', async () => {
    const err = await PgEngine.open('postgres://stagewatch:s3cret-pw@127.0.0.1:1/none', log).catch((e: Error) => e);
    expect(String(err)).toMatch(/cannot open the PostgreSQL store postgres:\/\/stagewatch:\*\*\*@127\.0\.0\.1:1\/none: .*ECONNREFUSED/);
    expect(String(err)).not.toContain('s3cret-pw');
    const url = await freshDb();
    await expect(PgEngine.open(url, log, { reader: true })).rejects.toThrow(/^no stagewatch store in the database postgres:\/\/postgres@127\.0\.0\.1:\d+\/t\d+ \(a collector started with --store on it creates one\)$/);
  }, 60_000);

  it('migrates a fresh database once when collectors start together, and refuses one a newer stagewatch wrote', async () => {
    const url = await freshDb();
    await Promise.all([open(url), open(url), open(url)]);
    await withPgClient(url, async (c) => {
      expect((await c.query('SELECT version FROM stagewatch_schema ORDER BY version')).rows).toEqual([{ version: 1 }, { version: 2 }]);
      await c.query("INSERT INTO stagewatch_schema(version, what) VALUES (99, 'from the future')");
    });
    await expect(PgEngine.open(url, log)).rejects.toThrow(/schema version 99, newer than this collector's 2/);
  }, 60_000);
});
