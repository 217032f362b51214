import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeReport } from '../collector/src/report/index.js';
import { PgEngine } from '../collector/src/store/pg/engine.js';
import { PgPruner } from '../collector/src/store/pg/pruner.js';
import { migratePg, PG_MIGRATIONS } from '../collector/src/store/pg/schema.js';
import { Pruner, type RetentionPolicy } from '../collector/src/store/retention/pruner.js';
import { pendingBatch } from '../collector/src/store/rows.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { FIXTURES } from './helpers/fixtures.js';
import { capturedAgents, rechunk, type ReplayAgent } from './helpers/pg-replay.js';
import { pgQuery, startPostgres, withPgClient, type PgServer } from './helpers/postgres.js';
import { startCollectorProc, waitFor, type CollectorProc } from './helpers/processes.js';
import { batchOf, T } from './helpers/retention-store.js';
import { useScratch } from './helpers/scratch.js';
import type { ReportJson } from '../collector/src/report/index.js';

const scratch = useScratch('stagewatch-pg-retention-');
const RUN = 'phases';
const NOW = 1_700_000_000_000;
const log = (): void => undefined;
/** Raw readings older than a minute rolled into 1 s; 1 s and 10 s kept for good. */
const POLICY: RetentionPolicy = { rawMs: 60_000, oneSecondMs: 0, tenSecondMs: 0 };

let server: PgServer;
let dbs = 0;
const engines: PgEngine[] = [];
async function freshEngines(n: number): Promise<{ url: string; engines: PgEngine[] }> {
  const name = `r${++dbs}`;
  await server.createDatabase(name);
  const url = server.urlOf(name);
  const opened: PgEngine[] = [];
  for (let i = 0; i < n; i++) opened.push(await PgEngine.open(url, log));
  engines.push(...opened);
  return { url, engines: opened };
}

async function freshEnginesOn(url: string, n: number): Promise<PgEngine[]> {
  const opened: PgEngine[] = [];
  for (let i = 0; i < n; i++) opened.push(await PgEngine.open(url, log));
  engines.push(...opened);
  return opened;
}

const query = pgQuery;

function counts(url: string): Promise<{ batches: number; blocks: number; rollups: number }> {
  return withPgClient(url, async (c) => {
    const n = async (t: string): Promise<number> => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]?.n);
    return { batches: await n('batches'), blocks: await n('blocks'), rollups: await n('rollups') };
  });
}

let agents: ReplayAgent[];
/** A time ten days after the capture: every reading of it is older than POLICY's minute. */
let later: number;

beforeAll(async () => {
  server = await startPostgres();
  agents = capturedAgents(path.join(FIXTURES, 'phases-h100', 'store.sqlite.gz'), scratch(), RUN).map((a) => rechunk(a, 400));
  const last = Math.max(...agents.flatMap((a) => a.batches.flatMap((b) => b.samples.map((s) => s.t))));
  later = last + 10 * 86_400_000;
}, 60_000);
afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await server?.stop();
});

/** The captured run written into a SQLite store and through a PostgreSQL engine, batch by batch. */
async function storeBoth(e: PgEngine): Promise<SqliteStore> {
  const sqlite = new SqliteStore(scratch());
  for (const { hello, batches } of agents) {
    const hid = sqlite.registerAgent(hello, NOW).hid;
    const reg = await e.registerAgent(hello, NOW, null);
    for (const b of batches) {
      sqlite.writeBatches([pendingBatch(hello.agentId, hid, hello.host, b)], NOW);
      await e.writeBatches([pendingBatch(hello.agentId, reg.hid, hello.host, b)], NOW);
    }
  }
  return sqlite;
}

/** Runs a pruner until its pass finds nothing more to do. */
function pruneSqlite(store: SqliteStore, policy = POLICY): Promise<number> {
  let steps = 0;
  return new Promise((resolve) => {
    const p: Pruner = new Pruner(store.retentionTarget(), policy, {
      now: () => later,
      minGapMs: 0,
      onStep: () => steps++,
      onIdle: () => {
        p.close();
        resolve(steps);
      },
    });
    p.start();
  });
}

/** One pass of a PostgreSQL pruner: whether it held the lock, and its steps. */
function prunePg(e: PgEngine, policy = POLICY): Promise<{ held: boolean; steps: number }> {
  let steps = 0;
  return new Promise((resolve) => {
    const p: PgPruner = new PgPruner(() => e.retentionSession(), policy, {
      now: () => later,
      minGapMs: 0,
      onStep: () => steps++,
      onPass: (held) => {
        void p.close();
        resolve({ held, steps });
      },
    });
    p.start();
  });
}

describe('retention on a real PostgreSQL', () => {
  it('a run rolled up to 1 s reports as the same run rolled up on SQLite; batches rows kept; a kept copy sees the prune', async () => {
    const { url, engines: [e] } = await freshEngines(1);
    const pge = e as PgEngine;
    const sqlite = await storeBoth(pge);
    try {
      const rawReport = makeReport(sqlite, RUN);
      // Read (and so copied and kept) before the prune.
      expect(await pge.readRuns([RUN], (s) => makeReport(s, RUN))).toEqual(rawReport);
      const before = await counts(url);
      expect(before.rollups).toBe(0);
      const sqliteSteps = await pruneSqlite(sqlite);
      expect(sqliteSteps).toBeGreaterThan(0);
      const { held, steps } = await prunePg(pge);
      expect(held).toBe(true);
      expect(steps).toBe(sqliteSteps);
      const after = await counts(url);
      // Every raw reading is past the minute: none left raw; exactly-once's rows all kept.
      expect(after).toEqual({ batches: before.batches, blocks: 0, rollups: expect.any(Number) });
      expect(after.rollups).toBeGreaterThan(0);
      const rolled = makeReport(sqlite, RUN);
      expect(rolled.hosts[0]?.resolution?.map((r) => r.resolution)).toEqual(['1s']);
      expect(rolled).not.toEqual(rawReport);
      expect(await pge.readRuns([RUN], (s) => makeReport(s, RUN))).toEqual(rolled);
      expect(await pge.readRuns([RUN], (s) => [...s.samples(RUN)])).toEqual([...sqlite.samples(RUN)]);
      // The live view's backfill reads roll-ups too: the same readings in time order (roll-ups of
      // one time and ordinal, from different series, may come in another order: compared sorted).
      const host = (agents[0] as ReplayAgent).hello.host;
      const since = Math.max(...[...sqlite.samples(RUN)].map((x) => x.t)) - 20_000;
      const recent = sqlite.recent(host, since);
      expect(recent.samples.length).toBeGreaterThan(100);
      const fromPg = await pge.recent(host, since);
      const canonical = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();
      expect(canonical(fromPg.samples)).toEqual(canonical(recent.samples));
      expect(fromPg.samples.map((x) => x.t)).toEqual(recent.samples.map((x) => x.t));
      expect({ ...fromPg, samples: [] }).toEqual({ ...recent, samples: [] });
      // Then 1 s into 10 s: only roll-ups change (no raw block is left), and the kept copy notices (runs.pruned).
      const tenSeconds = { rawMs: 60_000, oneSecondMs: 60_000, tenSecondMs: 0 };
      expect(await pruneSqlite(sqlite, tenSeconds)).toBeGreaterThan(0);
      expect((await prunePg(pge, tenSeconds)).steps).toBeGreaterThan(0);
      const coarse = makeReport(sqlite, RUN);
      expect(coarse.hosts[0]?.resolution?.map((r) => r.resolution)).toEqual(['10s']);
      expect(await pge.readRuns([RUN], (s) => makeReport(s, RUN))).toEqual(coarse);
      expect((await counts(url)).batches).toBe(before.batches);
    } finally {
      sqlite.close();
    }
  }, 120_000);

  it('of two collectors on one database one prunes at a time: the second skips its pass while the first holds the lock', async () => {
    const { url, engines: [a, b] } = await freshEngines(2);
    const sqlite = await storeBoth(a as PgEngine);
    sqlite.close();
    const held = await (a as PgEngine).retentionSession();
    expect(held).not.toBeNull();
    try {
      expect(await (b as PgEngine).retentionSession()).toBeNull();
      expect(await prunePg(b as PgEngine)).toEqual({ held: false, steps: 0 });
      expect((await counts(url)).rollups).toBe(0);
    } finally {
      await held?.close();
    }
    const next = await prunePg(b as PgEngine);
    expect(next.held).toBe(true);
    expect(next.steps).toBeGreaterThan(0);
    expect((await counts(url)).blocks).toBe(0);
  }, 120_000);

  it('batches stored while a pass runs are each stored once, and the next pass rolls up what the first left raw', async () => {
    const { url, engines: [e] } = await freshEngines(1);
    const pge = e as PgEngine;
    const { hello, batches } = agents[0] as ReplayAgent;
    const reg = await pge.registerAgent(hello, NOW, null);
    const half = Math.floor(batches.length / 2);
    for (const b of batches.slice(0, half)) await pge.writeBatches([pendingBatch(hello.agentId, reg.hid, hello.host, b)], NOW);
    let written = 0;
    const rest = batches.slice(half);
    const pruned = prunePg(pge);
    for (const b of rest) {
      const r = await pge.writeBatches([pendingBatch(hello.agentId, reg.hid, hello.host, b)], NOW);
      expect(r.duplicate).toEqual([false]);
      written++;
    }
    expect((await pruned).steps).toBeGreaterThan(0);
    expect(written).toBe(rest.length);
    expect((await counts(url)).batches).toBe(batches.length);
    await prunePg(pge);
    expect((await counts(url)).blocks).toBe(0);
    const samples = await pge.readRuns([RUN], (s) => [...s.samples(RUN)]);
    const ts = samples.map((s) => s.t);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
  }, 120_000);

  it('a database of schema version 1 (before retention) is migrated by a collector, its runs kept, and then pruned', async () => {
    const name = `r${++dbs}`;
    await server.createDatabase(name);
    const url = server.urlOf(name);
    await withPgClient(url, async (c) => {
      await migratePg(c, url, PG_MIGRATIONS.slice(0, 1));
      // A run stored before version 2.
      await c.query("INSERT INTO runs(id, kind, started_at) VALUES ('stored-before', 'run', 1)");
    });
    const [e] = (await freshEnginesOn(url, 1)) as [PgEngine];
    const { rows } = await query(url, 'SELECT version FROM stagewatch_schema ORDER BY version');
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    expect((await e.run('stored-before'))?.startedAt).toBe(1);
    const sqlite = await storeBoth(e);
    sqlite.close();
    expect((await prunePg(e)).steps).toBeGreaterThan(0);
    expect((await counts(url)).blocks).toBe(0);
  }, 120_000);

  it('serve --store --retain-raw: two collectors on one database roll a run from long ago up to 1 s, the batches rows kept', async () => {
    const { url, engines: [e] } = await freshEngines(1);
    const pge = e as PgEngine;
    // Two minutes of readings from long ago (helpers/retention-store.ts), stored through the engine.
    const reg = await pge.registerAgent({ type: 'hello', protocol: 1, agentId: 'a1', host: 'h1', runId: 'run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 't' }, T, null);
    for (let seq = 1; seq <= 240; seq++) await pge.writeBatches([{ ...batchOf(reg.hid, seq) }], T);
    const cols: CollectorProc[] = [];
    try {
      for (let i = 0; i < 2; i++) cols.push(await startCollectorProc(null, 0, ['--store', url, '--retain-raw', '1m', '--retain-1s', '0']));
      const [a, b] = cols as [CollectorProc, CollectorProc];
      const report = await waitFor('the run rolled up to 1 s', async () => {
        const r = (await (await fetch(`${b.url}/api/runs/run/report?format=json`)).json()) as ReportJson;
        return r.hosts[0]?.resolution?.some((x) => x.resolution === '1s') && !r.hosts[0].resolution.some((x) => x.resolution === 'raw') ? r : undefined;
      });
      expect(report.hosts[0]?.resolution).toEqual([{ resolution: '1s', from_ms: T + 1000, to_ms: T + 120_000 }]);
      expect(report.hosts[0]?.stages.map((st) => st.name)).toEqual(['all']);
      const steps = async (c: CollectorProc): Promise<number> => Number(/^stagewatch_collector_retention_step_seconds_count (\d+)$/m.exec(await (await fetch(`${c.url}/metrics`)).text())?.[1] ?? 0);
      expect((await steps(a)) + (await steps(b))).toBeGreaterThan(0);
      for (const c of cols) c.proc.kill('SIGTERM');
      for (const c of cols) expect((await c.proc).exitCode).toBe(0);
      expect(await counts(url)).toEqual({ batches: 240, blocks: 0, rollups: expect.any(Number) });
    } finally {
      for (const c of cols) c.proc.kill('SIGKILL');
    }
  }, 120_000);
});
