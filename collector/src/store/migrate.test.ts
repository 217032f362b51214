import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
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
