import type Database from 'better-sqlite3';
import { StagewatchError } from '@stagewatch/shared';
import { FINGERPRINT_SCHEMA } from './fingerprints.js';
import { rowsToBlocks } from './migrate-blocks.js';
import { ROLLUPS_SCHEMA } from './retention/schema.js';

/**
 * The embedded store's tables as the first store made them. Times are epoch ms on the collector's
 * clock (agent clocks corrected). Columns and tables added since are the numbered migrations
 * below; a fresh store runs them all.
 */
const BASE_TABLES = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  rid INTEGER PRIMARY KEY,
  id TEXT UNIQUE NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('run', 'timeline')),
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS hosts(hid INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS run_hosts(rid INTEGER NOT NULL, hid INTEGER NOT NULL, PRIMARY KEY (rid, hid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agents(
  id TEXT PRIMARY KEY,
  hid INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  hello TEXT NOT NULL
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
CREATE TABLE IF NOT EXISTS loss(agent_id TEXT PRIMARY KEY, batches INTEGER NOT NULL, samples INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS marks(
  rid INTEGER NOT NULL, hid INTEGER NOT NULL, agent_id TEXT NOT NULL, t REAL NOT NULL,
  kind TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER, rank INTEGER, gauges TEXT, source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS marks_run_host_t ON marks(rid, hid, t);
`;

export const SOURCES = ['gpu', 'host', 'proc'] as const;

export interface Migration {
  /** The store's PRAGMA user_version once this has run. */
  version: number;
  what: string;
  up(db: Database.Database): void;
  /** It frees much of the file: VACUUM once the migrations are done (VACUUM cannot run in a transaction). */
  vacuum?: true;
}

/**
 * Adds columns that are not there yet. "Not there yet" matters only for stores from before
 * versioning (user_version 0): the collector then added whichever columns were missing at every
 * start, so such a store may hold any of them already. Old rows get NULL, or the default given.
 */
function addColumns(table: string, columns: ReadonlyArray<readonly [name: string, type: string]>): (db: Database.Database) => void {
  return (db) => {
    const have = new Set((db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name));
    for (const [name, type] of columns) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  };
}

/**
 * Every change to the store's tables, in order; each runs once, in a transaction that also moves
 * PRAGMA user_version to its number. Append only: a released migration is never edited, or
 * stores that ran it would differ from stores that run the new text.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, what: 'the first tables', up: (db) => db.exec(BASE_TABLES) },
  // signal: what interrupted the workload; data_start: the run's earliest sample or mark (a run
  // starts at its first data, not when the collector first heard of it); labels: `run --label`.
  { version: 2, what: 'runs: signal, data_start, labels', up: addColumns('runs', [['signal', 'TEXT'], ['data_start', 'INTEGER'], ['labels', 'TEXT']]) },
  { version: 3, what: 'marks: span timing and category, dropped counts, inferred boundaries', up: addColumns('marks', [['timing', 'TEXT'], ['category', 'TEXT'], ['dropped', 'INTEGER'], ['inferred', 'TEXT']]) },
  {
    version: 4,
    what: 'agents: key digest and stored-through seq; loss: quarantine counts',
    up(db) {
      // key_hash: SHA-256 of the agent's key (AGENT_KEY_HEADER), bound at its first hello that had
      // one. stored_through: every seq up to this one is stored: where the next hello's scan starts.
      addColumns('agents', [['key_hash', 'TEXT'], ['stored_through', 'INTEGER NOT NULL DEFAULT 0']])(db);
      addColumns('loss', [['corrupt', 'INTEGER NOT NULL DEFAULT 0'], ['rejected', 'INTEGER NOT NULL DEFAULT 0'], ['quarantined_samples', 'INTEGER NOT NULL DEFAULT 0']])(db);
    },
  },
  // The interval a reading covers, and the process a per-process reading is of (Sample.dur_ms, .pid).
  { version: 5, what: 'samples: dur_ms, pid', up: addColumns('samples', [['dur_ms', 'REAL'], ['pid', 'INTEGER']]) },
  {
    version: 6,
    what: 'fingerprints, sink skips and clock estimates',
    // sink_skips: rows a sink gave up on because the destination refused them for good (docs/INFLUX.md).
    up: (db) =>
      db.exec(`${FINGERPRINT_SCHEMA}
        CREATE TABLE IF NOT EXISTS sink_skips(
          sink TEXT NOT NULL, tbl TEXT NOT NULL CHECK (tbl IN ('samples', 'marks')), from_rowid INTEGER NOT NULL, to_rowid INTEGER NOT NULL,
          at INTEGER NOT NULL, error TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS clock(agent_id TEXT NOT NULL, t INTEGER NOT NULL, offset_ms REAL NOT NULL, error_ms REAL NOT NULL);`),
  },
  { version: 7, what: 'samples as column blocks (migrate-blocks.ts)', up: rowsToBlocks, vacuum: true },
  // Retention (retention/): 1 s and 10 s roll-ups of readings pruned from blocks.
  { version: 8, what: 'roll-ups (retention/schema.ts)', up: (db) => db.exec(ROLLUPS_SCHEMA) },
];

/** The schema version this code writes: the last migration's. */
export const SCHEMA_VERSION = (MIGRATIONS.at(-1) as Migration).version;

/**
 * Brings the store up to SCHEMA_VERSION, one migration per transaction, and refuses a store a
 * newer collector wrote (its tables may mean things this code does not know). The version is read
 * again inside each write transaction: a report opening the store while the collector starts
 * must not run a migration twice.
 */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = (migrations.at(-1) as Migration).version;
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const newer = (v: number): StagewatchError =>
    new StagewatchError('store-version', `the store ${file} has schema version ${v}, newer than this collector's ${latest}: it was written by a later stagewatch; run that version (or a later one) on it`);
  if (version() > latest) throw newer(version());
  let vacuum = false;
  for (const m of migrations) {
    db.transaction(() => {
      const v = version();
      if (v > latest) throw newer(v);
      if (v >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      vacuum ||= m.vacuum === true;
    }).immediate();
  }
  if (!vacuum) return;
  try {
    db.exec('VACUUM');
  } catch {
    // Another connection busy with the file: the freed pages stay free and new data reuses them.
  }
}
