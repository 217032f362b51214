import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isStagewatchError } from '@stagewatch/shared';
import { migrate, MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a store written before marks had `inferred`', () => {
  it('gains the column when opened, keeps its marks, and stores the new field', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-migrate-'));
    dirs.push(dir);
    const old = new Database(path.join(dir, 'stagewatch.sqlite'));
    old.exec(`CREATE TABLE marks(rid INTEGER NOT NULL, hid INTEGER NOT NULL, agent_id TEXT NOT NULL, t REAL NOT NULL,
      kind TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER, rank INTEGER, gauges TEXT, source TEXT NOT NULL);
      INSERT INTO marks VALUES (1, 1, 'a', 5, 'begin', 'init', NULL, NULL, NULL, 'log');`);
    old.close();
    new SqliteStore(dir).close();
    // The store keeps its handle private: the file is read back with a handle of the test's own.
    const db = new Database(path.join(dir, 'stagewatch.sqlite'));
    const cols = (db.prepare("SELECT name FROM pragma_table_info('marks')").all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols).toContain('inferred');
    expect(db.prepare('SELECT stage, inferred FROM marks').all()).toEqual([{ stage: 'init', inferred: null }]);
    db.close();
    // Opening it again does not try to add the column twice.
    new SqliteStore(dir).close();
  });
});

describe('a store written before agent keys and spool quarantine', () => {
  it('gains key_hash, stored_through and the quarantine counts, old rows reading as none yet', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-migrate-'));
    dirs.push(dir);
    const old = new Database(path.join(dir, 'stagewatch.sqlite'));
    old.exec(`CREATE TABLE agents(id TEXT PRIMARY KEY, hid INTEGER NOT NULL, rid INTEGER NOT NULL, first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL, hello TEXT NOT NULL);
      INSERT INTO agents VALUES ('a', 1, 1, 5, 5, '{}');
      CREATE TABLE loss(agent_id TEXT PRIMARY KEY, batches INTEGER NOT NULL, samples INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      INSERT INTO loss VALUES ('a', 2, 30, 5);`);
    old.close();
    const store = new SqliteStore(dir);
    expect(store.agentLoss('a')).toEqual({ batches: 2, samples: 30, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    store.close();
    const db = new Database(path.join(dir, 'stagewatch.sqlite'));
    expect(db.prepare('SELECT key_hash, stored_through FROM agents').all()).toEqual([{ key_hash: null, stored_through: 0 }]);
    db.close();
  });
});

describe('a store written before runs had signal, data_start and labels', () => {
  it('gains the columns; an old run reads as not interrupted, unlabelled, starting when registered', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-migrate-'));
    dirs.push(dir);
    const old = new Database(path.join(dir, 'stagewatch.sqlite'));
    old.exec(`CREATE TABLE runs(rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, started_at INTEGER NOT NULL,
        ended_at INTEGER, exit_code INTEGER);
      INSERT INTO runs VALUES (1, 'old-run', 'run', 5000, 9000, 0);`);
    old.close();
    const store = new SqliteStore(dir);
    expect(store.run('old-run')).toEqual({ id: 'old-run', kind: 'run', hosts: [], startedAt: 5000, endedAt: 9000, exitCode: 0, signal: null, labels: {} });
    store.close();
    new SqliteStore(dir).close();
  });
});

describe('the schema version', () => {
  const fresh = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-migrate-'));
    dirs.push(dir);
    return dir;
  };
  const userVersion = (dir: string): number => {
    const db = new Database(path.join(dir, 'stagewatch.sqlite'), { readonly: true });
    const v = db.pragma('user_version', { simple: true }) as number;
    db.close();
    return v;
  };

  it('is the last migration\'s in a new store, whose tables are those an unversioned store ends with', () => {
    const dir = fresh();
    new SqliteStore(dir).close();
    expect(userVersion(dir)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    // The same columns, in the same order, as a store that was never versioned and gains them at its first open.
    const legacy = fresh();
    const db = new Database(path.join(legacy, 'stagewatch.sqlite'));
    db.exec(`CREATE TABLE runs(rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, exit_code INTEGER, signal TEXT)`);
    db.close();
    new SqliteStore(legacy).close();
    const columns = (d: string): Record<string, string[]> => {
      const h = new Database(path.join(d, 'stagewatch.sqlite'), { readonly: true });
      const tables = (h.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
      const out = Object.fromEntries(tables.map((t) => [t, (h.pragma(`table_info(${t})`) as Array<{ name: string }>).map((c) => c.name)]));
      h.close();
      return out;
    };
    expect(columns(legacy)).toEqual(columns(dir));
  });

  it('refuses a store a newer collector wrote, naming both versions, and leaves it as it was', () => {
    const dir = fresh();
    const db = new Database(path.join(dir, 'stagewatch.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.exec('CREATE TABLE from_the_future(x)');
    db.close();
    let err: unknown;
    try {
      new SqliteStore(dir, { mustExist: true });
    } catch (e) {
      err = e;
    }
    expect(isStagewatchError(err, 'store-version')).toBe(true);
    expect((err as Error).message).toBe(
      `the store ${path.join(dir, 'stagewatch.sqlite')} has schema version ${SCHEMA_VERSION + 1}, newer than this collector's ${SCHEMA_VERSION}: it was written by a later stagewatch; run that version (or a later one) on it`,
    );
    expect(userVersion(dir)).toBe(SCHEMA_VERSION + 1);
    const h = new Database(path.join(dir, 'stagewatch.sqlite'), { readonly: true });
    expect(h.prepare("SELECT name FROM sqlite_master WHERE name = 'runs'").all()).toEqual([]);
    h.close();
  });

  it('runs each migration once, and one that fails leaves the store at the version before it', () => {
    const db = new Database(':memory:');
    let runs = 0;
    const steps = [
      { version: 1, what: 'a table', up: (d: Database.Database) => void d.exec('CREATE TABLE a(x)') },
      { version: 2, what: 'a row', up: (d: Database.Database) => void (runs++, d.exec('INSERT INTO a VALUES (1)')) },
    ];
    migrate(db, 'mem', steps);
    migrate(db, 'mem', steps);
    expect(runs).toBe(1);
    expect(db.prepare('SELECT count(*) FROM a').pluck().get()).toBe(1);
    const failing = [...steps, { version: 3, what: 'half done', up: (d: Database.Database) => void (d.exec('INSERT INTO a VALUES (2)'), d.exec('no such statement')) }];
    expect(() => migrate(db, 'mem', failing)).toThrow(/syntax error/);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare('SELECT count(*) FROM a').pluck().get()).toBe(1);
    db.close();
  });
});
