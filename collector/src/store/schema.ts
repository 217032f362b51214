import type Database from 'better-sqlite3';
import { FINGERPRINT_SCHEMA } from './fingerprints.js';

/** The embedded store's tables. Times are epoch ms on the collector's clock (agent clocks corrected). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  rid INTEGER PRIMARY KEY,
  id TEXT UNIQUE NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('run', 'timeline')),
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  exit_code INTEGER,
  signal TEXT,
  data_start INTEGER,
  labels TEXT
);
CREATE TABLE IF NOT EXISTS hosts(hid INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS run_hosts(rid INTEGER NOT NULL, hid INTEGER NOT NULL, PRIMARY KEY (rid, hid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agents(
  id TEXT PRIMARY KEY,
  hid INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  hello TEXT NOT NULL,
  key_hash TEXT,
  stored_through INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS gpus(
  hid INTEGER NOT NULL, idx INTEGER NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL, mem_total_mib REAL,
  PRIMARY KEY (hid, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_names(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS batches(
  agent_id TEXT NOT NULL, seq INTEGER NOT NULL, samples INTEGER NOT NULL, stored_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples(
  rid INTEGER NOT NULL, hid INTEGER NOT NULL, t INTEGER NOT NULL,
  source INTEGER NOT NULL, gpu INTEGER, m BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_run_host_t ON samples(rid, hid, t);
CREATE TABLE IF NOT EXISTS health(
  agent_id TEXT NOT NULL, t INTEGER NOT NULL, sampler TEXT NOT NULL, state TEXT NOT NULL, error TEXT, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS health_agent_t ON health(agent_id, t);
CREATE TABLE IF NOT EXISTS loss(
  agent_id TEXT PRIMARY KEY, batches INTEGER NOT NULL, samples INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  corrupt INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, quarantined_samples INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS marks(
  rid INTEGER NOT NULL, hid INTEGER NOT NULL, agent_id TEXT NOT NULL, t REAL NOT NULL,
  kind TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER, rank INTEGER, gauges TEXT, source TEXT NOT NULL,
  timing TEXT, category TEXT, dropped INTEGER, inferred TEXT
);
CREATE INDEX IF NOT EXISTS marks_run_host_t ON marks(rid, hid, t);
-- Rows a sink gave up on because the destination refused them for good (docs/INFLUX.md).
CREATE TABLE IF NOT EXISTS sink_skips(
  sink TEXT NOT NULL, tbl TEXT NOT NULL CHECK (tbl IN ('samples', 'marks')), from_rowid INTEGER NOT NULL, to_rowid INTEGER NOT NULL,
  at INTEGER NOT NULL, error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clock(agent_id TEXT NOT NULL, t INTEGER NOT NULL, offset_ms REAL NOT NULL, error_ms REAL NOT NULL);
`;

export const SOURCES = ['gpu', 'host', 'proc'] as const;

/**
 * Columns added after a table was first created: a store written by an older collector gains them
 * when it is opened (CREATE TABLE IF NOT EXISTS leaves an existing table as it was), so an existing
 * data directory keeps everything it holds. Old rows get NULL, or the default where one is
 * declared. `signal`: what interrupted the workload; `data_start`: the run's earliest sample or
 * mark (a run starts at its first data, not when the collector first heard of it).
 */
export const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; type: string }> = [
  { table: 'runs', column: 'signal', type: 'TEXT' },
  { table: 'runs', column: 'data_start', type: 'INTEGER' },
  { table: 'runs', column: 'labels', type: 'TEXT' },
  { table: 'marks', column: 'timing', type: 'TEXT' },
  { table: 'marks', column: 'category', type: 'TEXT' },
  { table: 'marks', column: 'dropped', type: 'INTEGER' },
  { table: 'marks', column: 'inferred', type: 'TEXT' },
  // SHA-256 of the agent's key (AGENT_KEY_HEADER), bound at its first hello that had one.
  { table: 'agents', column: 'key_hash', type: 'TEXT' },
  // Every seq up to this one is stored: where the next hello's scan starts.
  { table: 'agents', column: 'stored_through', type: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'loss', column: 'corrupt', type: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'loss', column: 'rejected', type: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'loss', column: 'quarantined_samples', type: 'INTEGER NOT NULL DEFAULT 0' },
  // The interval a reading covers, and the process a per-process reading is of (Sample.dur_ms, .pid).
  { table: 'samples', column: 'dur_ms', type: 'REAL' },
  { table: 'samples', column: 'pid', type: 'INTEGER' },
];

/** The ALTER statements an existing store needs, given each table's present columns. */
export function migrations(columnsOf: (table: string) => readonly string[]): string[] {
  return ADDED_COLUMNS.filter((c) => !columnsOf(c.table).includes(c.column)).map((c) => `ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.type}`);
}

/** Creates what is missing: tables, indexes, and the columns added since a store was made. */
export function applySchema(db: Database.Database): void {
  db.exec(SCHEMA + FINGERPRINT_SCHEMA);
  const columnsOf = (table: string): string[] => (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
  for (const sql of migrations(columnsOf)) db.exec(sql);
}
