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
    const store = new SqliteStore(dir);
    const cols = (store.db.prepare("SELECT name FROM pragma_table_info('marks')").all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols).toContain('inferred');
    expect(store.db.prepare('SELECT stage, inferred FROM marks').all()).toEqual([{ stage: 'init', inferred: null }]);
    store.close();
    // Opening it again does not try to add the column twice.
    new SqliteStore(dir).close();
  });
});
