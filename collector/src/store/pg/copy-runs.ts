import Database from 'better-sqlite3';
import type pg from 'pg';
import { migrate } from '../schema.js';
import { SqliteStore } from '../sqlite.js';

/** Blocks read from PostgreSQL at a time: a long run is copied without one huge result. */
const PAGE = 4096;

type Row = Record<string, unknown>;

/** Inserts rows into an in-memory table, columns as named (the rows' keys). */
function put(db: Database.Database, table: string, columns: readonly string[], rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const stmt = db.prepare(`INSERT INTO ${table}(${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  for (const r of rows) stmt.run(...columns.map((c) => r[c] ?? null));
}

/**
 * The named runs copied out of PostgreSQL into an in-memory SQLite store of the same schema, row
 * ids and metric ids kept, so the report, series, compare and export code (synchronous and pure)
 * reads them as it reads the embedded store. Blocks get their sample ordinals (s0) from the order
 * the collectors inserted them (bid). Runs that are not there are simply absent: the reader says
 * "no run" as it does on SQLite.
 */
export async function copyRuns(pool: pg.Pool, runIds: readonly string[], where: string): Promise<SqliteStore> {
  const c = await pool.connect();
  const mem = new Database(':memory:');
  let broken = false;
  try {
    migrate(mem, ':memory:');
    // One snapshot for all reads: a commit meanwhile shows wholly or not at all.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const q = async (sql: string, args: unknown[] = []): Promise<Row[]> => (await c.query(sql, args)).rows as Row[];
    const runs = await q('SELECT rid, id, kind, started_at, ended_at, exit_code, signal, data_start, labels FROM runs WHERE id = ANY($1::text[])', [[...new Set(runIds)]]);
    const rids = runs.map((r) => r.rid as number);
    const runHosts = await q('SELECT rid, hid FROM run_hosts WHERE rid = ANY($1::int[])', [rids]);
    const agents = await q('SELECT id, hid, rid, first_seen, last_seen, hello, key_hash, stored_through FROM agents WHERE rid = ANY($1::int[])', [rids]);
    const hids = [...new Set([...runHosts, ...agents].map((r) => r.hid as number))];
    const agentIds = agents.map((a) => a.id as string);
    mem.exec('BEGIN');
    put(mem, 'metric_names', ['id', 'name'], await q('SELECT id, name FROM metric_names'));
    put(mem, 'runs', ['rid', 'id', 'kind', 'started_at', 'ended_at', 'exit_code', 'signal', 'data_start', 'labels'], runs);
    put(mem, 'run_hosts', ['rid', 'hid'], runHosts);
    put(mem, 'hosts', ['hid', 'name'], await q('SELECT hid, name FROM hosts WHERE hid = ANY($1::int[])', [hids]));
    put(mem, 'agents', ['id', 'hid', 'rid', 'first_seen', 'last_seen', 'hello', 'key_hash', 'stored_through'], agents);
    put(mem, 'gpus', ['hid', 'idx', 'uuid', 'name', 'mem_total_mib'], await q('SELECT hid, idx, uuid, name, mem_total_mib FROM gpus WHERE hid = ANY($1::int[])', [hids]));
    put(mem, 'loss', ['agent_id', 'batches', 'samples', 'corrupt', 'rejected', 'quarantined_samples', 'updated_at'], await q('SELECT * FROM loss WHERE agent_id = ANY($1::text[])', [agentIds]));
    put(mem, 'clock', ['agent_id', 't', 'offset_ms', 'error_ms'], await q('SELECT agent_id, t, offset_ms, error_ms FROM clock WHERE agent_id = ANY($1::text[]) ORDER BY t', [agentIds]));
    put(mem, 'batches', ['agent_id', 'seq', 'samples', 'stored_at'], await q('SELECT agent_id, seq, samples, stored_at FROM batches WHERE agent_id = ANY($1::text[])', [agentIds]));
    // Rowid order is read order for marks and fingerprints (ties in time): inserted in id order.
    const markCols = ['rid', 'hid', 'agent_id', 't', 'kind', 'stage', 'step', 'rank', 'gauges', 'source', 'timing', 'category', 'dropped', 'inferred'];
    put(mem, 'marks', markCols, await q(`SELECT ${markCols.join(', ')} FROM marks WHERE rid = ANY($1::int[]) ORDER BY mid`, [rids]));
    const fpCols = ['rid', 'hid', 'agent_id', 't', 'kind', 'body'];
    put(mem, 'fingerprints', fpCols, await q(`SELECT ${fpCols.join(', ')} FROM fingerprints WHERE rid = ANY($1::int[]) ORDER BY fid`, [rids]));
    let after = 0;
    let s0 = 1;
    for (;;) {
      const page = await q('SELECT bid, rid, hid, t0, t1, n, source, data FROM blocks WHERE rid = ANY($1::int[]) AND bid > $2 ORDER BY bid LIMIT $3', [rids, after, PAGE]);
      for (const b of page) {
        b.s0 = s0;
        s0 += b.n as number;
      }
      put(mem, 'blocks', ['bid', 'rid', 'hid', 't0', 't1', 's0', 'n', 'source', 'data'], page);
      if (page.length < PAGE) break;
      after = (page.at(-1) as Row).bid as number;
    }
    // Roll-ups (retention): the reads merge them with the raw blocks (retention/finest-rows.ts).
    after = 0;
    for (;;) {
      const page = await q('SELECT bid, rid, hid, res, t0, t1, n, source, data FROM rollups WHERE rid = ANY($1::int[]) AND bid > $2 ORDER BY bid LIMIT $3', [rids, after, PAGE]);
      put(mem, 'rollups', ['bid', 'rid', 'hid', 'res', 't0', 't1', 'n', 'source', 'data'], page);
      if (page.length < PAGE) break;
      after = (page.at(-1) as Row).bid as number;
    }
    mem.exec('COMMIT');
    await c.query('COMMIT');
    return new SqliteStore(where, { image: mem.serialize() });
  } catch (e) {
    // A connection whose ROLLBACK failed is broken (the server went away): the pool drops it.
    broken = await c.query('ROLLBACK').then(() => false, () => true);
    throw e;
  } finally {
    c.release(broken);
    mem.close();
  }
}
