import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRunFileHeader, isStagewatchError, RUN_FILE_FORMAT, RUN_FILE_VERSION } from '@stagewatch/shared';
import { PgEngine } from '../collector/src/store/pg/engine.js';
import { pendingBatch } from '../collector/src/store/rows.js';
import type { SqliteStore } from '../collector/src/store/sqlite.js';
import { FIXTURES } from './helpers/fixtures.js';
import { capturedAgents, rechunk, type ReplayAgent } from './helpers/pg-replay.js';
import { pgQuery, startPostgres, withPgClient, type PgServer } from './helpers/postgres.js';
import { COLLECTOR_BIN, waitFor } from './helpers/processes.js';
import { storeContent } from './helpers/portable.js';
import { useScratch } from './helpers/scratch.js';

const scratch = useScratch('stagewatch-pg-import-');
const RUN = 'phases';
const NOW = 1_700_000_000_000;

let server: PgServer;
let dbs = 0;
async function freshDb(): Promise<string> {
  const name = `i${++dbs}`;
  await server.createDatabase(name);
  return server.urlOf(name);
}

const collector = (args: string[]) => execa(process.execPath, [COLLECTOR_BIN, ...args], { reject: false });

async function reportJson(store: string[]): Promise<unknown> {
  const r = await collector(['report', RUN, '--format', 'json', ...store]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout));
}

/** Rows of the tables an import writes, to see that a second import (or a failed one) adds none. */
function counts(url: string): Promise<Record<string, number>> {
  return withPgClient(url, async (c) => {
    const out: Record<string, number> = {};
    for (const t of ['runs', 'agents', 'batches', 'blocks', 'marks', 'fingerprints']) {
      out[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]?.n);
    }
    return out;
  });
}

const query = pgQuery;
const sql = async (url: string, text: string): Promise<void> => void (await query(url, text));

/** What a run is in a store (helpers/portable.ts's storeContent), read from a SQLite store. */
function content(s: SqliteStore) {
  return { run: s.run(RUN), samples: [...s.samples(RUN)], marks: s.marks(RUN), fingerprints: s.fingerprintRows(RUN), gpus: s.gpus(RUN) };
}

let agents: ReplayAgent[];
/**
 * The captured H100 run as an agent's --out file records it: a hello, then batches of 50 samples
 * (more batches than an import writes at once), under an agent's own id (not an export's).
 */
let agentFile: string;
let batchCount: number;

beforeAll(async () => {
  server = await startPostgres();
  agents = capturedAgents(path.join(FIXTURES, 'phases-h100', 'store.sqlite.gz'), scratch(), RUN).map((a) => rechunk(a, 50)).map((a) => ({ ...a, hello: { ...a.hello, agentId: `agent-${a.hello.host}` } }));
  const header = encodeRunFileHeader({ format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, origin: 'agent', writer: 'stagewatch-agent test', createdAt: NOW, runId: RUN });
  const lines = [header.trimEnd(), ...agents.flatMap((a) => [JSON.stringify(a.hello), ...a.batches.map((b) => JSON.stringify(b))])];
  agentFile = path.join(scratch(), 'agent.swrun.gz');
  writeFileSync(agentFile, gzipSync(`${lines.join('\n')}\n`));
  batchCount = agents.reduce((n, a) => n + a.batches.length, 0);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('import --store postgres:// on a real PostgreSQL', () => {
  it('an agent --out file stores and reports as imported into SQLite; a second import stores nothing', async () => {
    const data = scratch();
    const url = await freshDb();
    expect((await collector(['import', agentFile, '--data', data])).exitCode).toBe(0);
    const imp = await collector(['import', agentFile, '--store', url]);
    expect(imp.exitCode, String(imp.stderr)).toBe(0);
    expect(String(imp.stderr)).toMatch(new RegExp(`run ${RUN} \\(\\S+\\): stored ${batchCount} batches, \\d+ samples, \\d+ marks in postgres://`));
    expect(batchCount).toBeGreaterThan(64);
    const e = await PgEngine.open(url, () => undefined, { reader: true });
    try {
      expect(await e.readRuns([RUN], content)).toEqual(storeContent(data, RUN));
    } finally {
      await e.close();
    }
    expect(await reportJson(['--store', url])).toEqual(await reportJson(['--data', data]));
    const before = await counts(url);
    expect(before.batches).toBe(batchCount);
    const again = await collector(['import', agentFile, '--store', url]);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(String(again.stderr)).toContain(`nothing new: all ${batchCount} batches are in postgres://`);
    expect(await counts(url)).toEqual(before);
  });

  it('an export refused by the database it came from; into another one it reproduces the run, once', async () => {
    const url = await freshDb();
    expect((await collector(['import', agentFile, '--store', url])).exitCode).toBe(0);
    const file = path.join(scratch(), 'exported.swrun.gz');
    const exp = await collector(['export', RUN, '--store', url, '--out', file]);
    expect(exp.exitCode, String(exp.stderr)).toBe(0);
    const back = await collector(['import', file, '--store', url]);
    expect(back.exitCode).toBe(1);
    expect(String(back.stderr)).toMatch(/run phases is in postgres:\/\/\S+ already; this export of it would store its data a second time/);
    const other = await freshDb();
    expect((await collector(['import', file, '--store', other])).exitCode).toBe(0);
    expect(await reportJson(['--store', other])).toEqual(await reportJson(['--store', url]));
    const before = await counts(other);
    expect(String((await collector(['import', file, '--store', other])).stderr)).toMatch(/nothing new: all \d+ batches are in/);
    expect(await counts(other)).toEqual(before);
  });

  it('the imported hello claims no agent id: no key is asked for, and a key bound by a stream is kept', async () => {
    const url = await freshDb();
    const hello = (agents[0] as ReplayAgent).hello;
    const e = await PgEngine.open(url, () => undefined);
    try {
      // The agent streamed elsewhere first, with its key.
      await e.registerAgent({ ...hello, runId: 'streamed' }, NOW, 'the-agents-key-0123456789');
      const imp = await collector(['import', agentFile, '--store', url]);
      expect(imp.exitCode, String(imp.stderr)).toBe(0);
      const { rows } = await withPgClient(url, (c) => c.query<{ key_hash: string }>('SELECT key_hash FROM agents WHERE id = $1', [hello.agentId]));
      expect(rows[0]?.key_hash).toBe(createHash('sha256').update('the-agents-key-0123456789').digest('hex'));
      // A stream without the key is still refused.
      const refused = await e.registerAgent(hello, NOW, null).then(() => null, (x: unknown) => x);
      expect(isStagewatchError(refused) && refused.code).toBe('agent-key');
    } finally {
      await e.close();
    }
  });

  it('a file is one transaction: an import that fails midway stores nothing, and running it again stores it once', async () => {
    const url = await freshDb();
    // Opened once so the tables exist, then a batch far into the file fails to insert.
    await (await PgEngine.open(url, () => undefined)).close();
    const failAt = batchCount - 3;
    await sql(
      url,
      `CREATE FUNCTION fail_late() RETURNS trigger AS $$ BEGIN IF NEW.seq = ${failAt} THEN RAISE EXCEPTION 'test: the server fails at seq %', NEW.seq; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
       CREATE TRIGGER fail_late BEFORE INSERT ON batches FOR EACH ROW EXECUTE FUNCTION fail_late();`,
    );
    const failed = await collector(['import', agentFile, '--store', url]);
    expect(failed.exitCode).toBe(1);
    expect(String(failed.stderr)).toContain(`test: the server fails at seq ${failAt}`);
    expect(await counts(url)).toEqual({ runs: 0, agents: 0, batches: 0, blocks: 0, marks: 0, fingerprints: 0 });
    await sql(url, 'DROP TRIGGER fail_late ON batches');
    const rerun = await collector(['import', agentFile, '--store', url]);
    expect(rerun.exitCode, String(rerun.stderr)).toBe(0);
    expect(String(rerun.stderr)).toContain(`stored ${batchCount} batches`);
    expect((await counts(url)).batches).toBe(batchCount);
  });

  it('two imports of one file at once store it once', async () => {
    const url = await freshDb();
    await (await PgEngine.open(url, () => undefined)).close();
    const [x, y] = await Promise.all([collector(['import', agentFile, '--store', url]), collector(['import', agentFile, '--store', url])]);
    expect([x.exitCode, y.exitCode], `${x.stderr}\n${y.stderr}`).toEqual([0, 0]);
    const said = [String(x.stderr), String(y.stderr)];
    expect(said.filter((s) => s.includes(`stored ${batchCount} batches`))).toHaveLength(1);
    expect(said.filter((s) => s.includes(`nothing new: all ${batchCount} batches are in`))).toHaveLength(1);
    const n = await counts(url);
    expect(n.batches).toBe(batchCount);
    const one = await freshDb();
    expect((await collector(['import', agentFile, '--store', one])).exitCode).toBe(0);
    expect(await counts(one)).toEqual(n);
  });

  it('an import while a collector stores the same batches: each (agent, seq) stored once, whichever commits first', async () => {
    const url = await freshDb();
    const e = await PgEngine.open(url, () => undefined);
    try {
      // The agents said hello to the collector first; the import then runs while they stream.
      const regs = [];
      for (const { hello } of agents) regs.push(await e.registerAgent(hello, NOW, null));
      const importing = collector(['import', agentFile, '--store', url]);
      // Once the import's transaction has written batches (it holds a lock on the table until it ends)...
      await waitFor('the import to write', async () => (await query(url, "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'batches' AND l.mode = 'RowExclusiveLock'")).rows.length > 0);
      // ...the collector stores the same batches, last first: some the import has not reached yet.
      let streamed = 0;
      for (const [i, { hello, batches }] of agents.entries()) {
        for (const b of [...batches].reverse()) if (!(await e.writeBatches([pendingBatch(hello.agentId, (regs[i] as { hid: number }).hid, hello.host, b)], NOW)).duplicate[0]) streamed++;
      }
      const imp = await importing;
      expect(imp.exitCode, String(imp.stderr)).toBe(0);
      const m = /stored (\d+) batches/.exec(String(imp.stderr));
      const imported = m ? Number(m[1]) : 0;
      console.log(`import vs stream: imported ${imported}, streamed ${streamed} of ${batchCount}`);
      expect(imported + streamed).toBe(batchCount);
      expect((await counts(url)).batches).toBe(batchCount);
    } finally {
      await e.close();
    }
  });

  it('--partial keeps the whole lines before a cut; the whole file then stores the rest, once', async () => {
    const url = await freshDb();
    const bytes = readFileSync(agentFile);
    const cut = path.join(scratch(), 'cut.swrun.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const refused = await collector(['import', cut, '--store', url]);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toMatch(/cut short after line \d+ .*nothing imported/);
    const kept = await collector(['import', cut, '--store', url, '--partial']);
    expect(kept.exitCode, String(kept.stderr)).toBe(0);
    const m = /kept lines 1-\d+, batches 1-(\d+) of agent/.exec(String(kept.stderr));
    expect(m, String(kept.stderr)).not.toBeNull();
    const keptSeqs = Number(m?.[1]);
    expect((await counts(url)).batches).toBe(keptSeqs);
    const rest = await collector(['import', agentFile, '--store', url]);
    expect(String(rest.stderr)).toContain(`${keptSeqs} of its ${batchCount} batches were stored already and were skipped`);
    expect((await counts(url)).batches).toBe(batchCount);
  });

  it('--data and --store together are refused', async () => {
    const r = await collector(['import', agentFile, '--data', scratch(), '--store', 'postgres://x@localhost/db']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/give --data DIR .* or --store postgres:\/\/\.\.\. .*not both/);
  });
});
