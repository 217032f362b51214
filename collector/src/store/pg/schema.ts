import type pg from 'pg';
import { NotFoundError, StagewatchError } from '@stagewatch/shared';

/**
 * The PostgreSQL engine's tables: those of the SQLite store (schema.ts) at its version 7, in
 * PostgreSQL's types. Blocks keep the SQLite store's blob encoding (blocks.ts), so the same
 * decoder reads both. Ids come from sequences all collectors share: a metric's id is the same
 * whichever collector first stored it. Not kept: blocks.s0 (the SQLite store's sample ordinal; a
 * read numbers the blocks in bid order instead) and the sink tables (no sink runs on this engine).
 */
const V1 = `
CREATE TABLE hosts(hid serial PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE runs(
  rid serial PRIMARY KEY, id text UNIQUE NOT NULL, kind text NOT NULL CHECK (kind IN ('run', 'timeline')),
  started_at bigint NOT NULL, ended_at bigint, exit_code integer, signal text, data_start bigint, labels text
);
CREATE TABLE run_hosts(rid integer NOT NULL, hid integer NOT NULL, PRIMARY KEY (rid, hid));
CREATE TABLE agents(
  id text PRIMARY KEY, hid integer NOT NULL, rid integer NOT NULL, first_seen bigint NOT NULL, last_seen bigint NOT NULL,
  hello text NOT NULL, key_hash text, stored_through bigint NOT NULL DEFAULT 0
);
CREATE INDEX agents_rid ON agents(rid);
CREATE TABLE gpus(hid integer NOT NULL, idx integer NOT NULL, uuid text NOT NULL, name text NOT NULL, mem_total_mib double precision, PRIMARY KEY (hid, idx));
CREATE TABLE metric_names(id serial PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE batches(agent_id text NOT NULL, seq bigint NOT NULL, samples integer NOT NULL, stored_at bigint NOT NULL, PRIMARY KEY (agent_id, seq));
CREATE TABLE blocks(
  bid bigserial PRIMARY KEY, rid integer NOT NULL, hid integer NOT NULL, t0 bigint NOT NULL, t1 bigint NOT NULL,
  n integer NOT NULL, source smallint NOT NULL, data bytea NOT NULL
);
CREATE INDEX blocks_run_host_t0 ON blocks(rid, hid, t0);
CREATE INDEX blocks_run_host_t1 ON blocks(rid, hid, t1);
CREATE INDEX blocks_run_bid ON blocks(rid, bid);
CREATE TABLE marks(
  mid bigserial PRIMARY KEY, rid integer NOT NULL, hid integer NOT NULL, agent_id text NOT NULL, t double precision NOT NULL,
  kind text NOT NULL, stage text NOT NULL, step bigint, rank integer, gauges text, source text NOT NULL,
  timing text, category text, dropped bigint, inferred text
);
CREATE INDEX marks_run_host_t ON marks(rid, hid, t);
CREATE TABLE health(agent_id text NOT NULL, t bigint NOT NULL, sampler text NOT NULL, state text NOT NULL, error text, body text NOT NULL);
CREATE INDEX health_agent_t ON health(agent_id, t);
CREATE TABLE loss(
  agent_id text PRIMARY KEY, batches bigint NOT NULL, samples bigint NOT NULL, corrupt bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0, quarantined_samples bigint NOT NULL DEFAULT 0, updated_at bigint NOT NULL
);
CREATE TABLE fingerprints(
  fid bigserial PRIMARY KEY, rid integer NOT NULL, hid integer NOT NULL, agent_id text NOT NULL, t bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('host', 'workload')), body text NOT NULL
);
CREATE INDEX fingerprints_run_host ON fingerprints(rid, hid);
CREATE TABLE clock(agent_id text NOT NULL, t bigint NOT NULL, offset_ms double precision NOT NULL, error_ms double precision NOT NULL);
CREATE INDEX clock_agent ON clock(agent_id);
`;

/**
 * Retention on PostgreSQL: roll-ups as the SQLite store keeps them (retention/schema.ts, the same
 * blobs), and a per-run count of pruning steps, so a kept copy of a run (run-cache.ts) notices a
 * step changed it even where no id it stamps grew (the 10 s level only deletes).
 */
const V2 = `
CREATE TABLE rollups(
  bid bigserial PRIMARY KEY, rid integer NOT NULL, hid integer NOT NULL, res integer NOT NULL CHECK (res IN (1000, 10000)),
  t0 bigint NOT NULL, t1 bigint NOT NULL, n integer NOT NULL, source smallint NOT NULL, data bytea NOT NULL
);
CREATE INDEX rollups_run_host_res_t0 ON rollups(rid, hid, res, t0);
CREATE INDEX rollups_run_host_t1 ON rollups(rid, hid, t1);
ALTER TABLE runs ADD COLUMN pruned bigint NOT NULL DEFAULT 0;
`;

export interface PgMigration {
  version: number;
  what: string;
  sql: string;
}

/** Append only, as the SQLite store's: a released migration is never edited. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, what: 'the tables of the SQLite store at its version 7', sql: V1 },
  { version: 2, what: 'retention: roll-ups, and runs.pruned', sql: V2 },
];

/** An arbitrary constant: the advisory lock collectors take while one of them migrates. */
const MIGRATION_LOCK = 0x57a9e;

/**
 * Brings the database up to the last migration. Several collectors may start at once against
 * one database: an advisory lock held for the transaction lets one migrate while the others wait,
 * then find the work done. A database a newer stagewatch migrated is refused.
 */
export async function migratePg(client: pg.ClientBase, where: string, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<void> {
  const latest = (migrations.at(-1) as PgMigration).version;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS stagewatch_schema(version integer NOT NULL, what text NOT NULL, at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM stagewatch_schema');
    const have = rows[0]?.v ?? 0;
    if (have > latest) {
      throw new StagewatchError('store-version', `the database ${where} has schema version ${have}, newer than this collector's ${latest}: it was written by a later stagewatch; run that version (or a later one) on it`);
    }
    for (const m of migrations) {
      if (m.version <= have) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO stagewatch_schema(version, what) VALUES ($1, $2)', [m.version, m.what]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

/**
 * For a reader (report, compare, export): the database holds a store of exactly this version.
 * A reader never creates or migrates one; a collector of this version does.
 */
export async function checkPg(client: pg.ClientBase, where: string, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<void> {
  const latest = (migrations.at(-1) as PgMigration).version;
  const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('stagewatch_schema')::text AS t");
  if (!rows[0]?.t) throw new NotFoundError(`no stagewatch store in the database ${where} (a collector started with --store on it creates one)`);
  const { rows: v } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM stagewatch_schema');
  const have = v[0]?.v ?? 0;
  if (have > latest) throw new StagewatchError('store-version', `the database ${where} has schema version ${have}, newer than this stagewatch's ${latest}: run a later stagewatch on it`);
  if (have < latest) throw new StagewatchError('store-version', `the database ${where} has schema version ${have}, older than this stagewatch's ${latest}: start a collector of this version on it once to migrate it`);
}
