import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from './schema.js';
import { SqliteStore } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A packed metrics blob as stores before blocks kept them: (uint16 id, float64 value) pairs. */
const packed = (pairs: Array<[number, number]>): Buffer => {
  const b = Buffer.alloc(pairs.length * 10);
  pairs.forEach(([id, v], i) => (b.writeUInt16LE(id, i * 10), b.writeDoubleLE(v, i * 10 + 2)));
  return b;
};

describe('a store of sample rows (schema version 6)', () => {
  it('becomes blocks that read back in the same (time, rowid) order, with sink cursors and skips counting the same samples', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-blocks-'));
    dirs.push(dir);
    const file = path.join(dir, 'stagewatch.sqlite');
    const db = new Database(file);
    migrate(db, file, MIGRATIONS.slice(0, 6));
    db.exec(`INSERT INTO runs(rid, id, kind, started_at) VALUES (1, 'run', 'run', 0);
      INSERT INTO hosts VALUES (1, 'a'), (2, 'b'); INSERT INTO run_hosts VALUES (1, 1), (1, 2);
      INSERT INTO metric_names VALUES (1, 'util_pct'), (2, 'power_w'), (3, 'cpu_cores');
      INSERT INTO meta VALUES ('influx.cursor.samples', '7'), ('other', 'x');
      INSERT INTO sink_skips VALUES ('influx', 'samples', 2, 5, 1, 'refused'), ('influx', 'marks', 2, 5, 1, 'refused');`);
    const insert = db.prepare('INSERT INTO samples(rid, hid, t, source, gpu, m, dur_ms, pid) VALUES (1, ?, ?, ?, ?, ?, ?, ?)');
    // Two GPUs and a process, interleaved as batches wrote them; equal times across series; a
    // GPU whose readings arrive out of time order; two hosts.
    for (let i = 0; i < 40; i++) {
      const t = 1000 + Math.floor(i / 2) * 100 - (i % 7 === 3 ? 150 : 0);
      insert.run(1 + (i % 2), t, 0, i % 3 === 0 ? 0 : 1, packed([[1, (i * 13) % 101], [2, 300 + i / 4]]), i % 5 === 0 ? null : 100, null);
      insert.run(1, t, 2, null, packed([[3, i / 3]]), 100, 4242);
    }
    db.exec('DELETE FROM samples WHERE rowid = 3');
    type Old = { rowid: number; hid: number; t: number; source: number; gpu: number | null; m: Buffer; dur_ms: number | null; pid: number | null };
    const rows = db.prepare('SELECT rowid, * FROM samples ORDER BY hid, t, rowid').all() as Old[];
    db.close();
    const names: Record<number, string> = { 1: 'util_pct', 2: 'power_w', 3: 'cpu_cores' };
    const asSample = (r: Old) => ({
      t: r.t,
      host: r.hid === 1 ? 'a' : 'b',
      source: ['gpu', 'host', 'proc'][r.source],
      m: Object.fromEntries(Array.from({ length: r.m.length / 10 }, (_, k) => [names[r.m.readUInt16LE(k * 10)], r.m.readDoubleLE(k * 10 + 2)])),
      ...(r.gpu === null ? {} : { gpu: r.gpu }),
      ...(r.dur_ms === null ? {} : { dur_ms: r.dur_ms }),
      ...(r.pid === null ? {} : { pid: r.pid }),
    });

    const store = new SqliteStore(dir);
    expect([...store.samples('run')]).toEqual(rows.map(asSample));
    const sink = store.sinkSource();
    // Rows 1..7 but the deleted 3 were written: six samples.
    expect(sink.cursor('influx.cursor.samples')).toBe(6);
    // Not a samples cursor: left as it was ('x').
    expect(sink.cursor('other')).toBeNaN();
    expect(sink.skipped('influx')).toEqual([
      { sink: 'influx', table: 'samples', from: 2, to: 4, at: 1, error: 'refused' },
      { sink: 'influx', table: 'marks', from: 2, to: 5, at: 1, error: 'refused' },
    ]);
    expect(sink.maxRowids().samples).toBe(rows.length);
    const after = sink.samplesAfter(6, 1000);
    const key = (s: object): string => JSON.stringify(s, Object.keys(s).sort());
    expect(after.map(({ rowid: _r, rid: _i, hid: _h, runId: _u, ...s }) => key(s)).sort()).toEqual(rows.filter((r) => r.rowid > 7).map((r) => key(asSample(r))).sort());
    expect(after.map((s) => s.rowid)).toEqual(Array.from({ length: rows.length - 6 }, (_, i) => 7 + i));
    // Paged: every sample once, in sequence.
    const paged: number[] = [];
    for (let c = 0, page; (page = sink.samplesAfter(c, 7)).length > 0; c = (page.at(-1) as { rowid: number }).rowid) paged.push(...page.map((s) => s.rowid));
    expect(paged).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    store.close();
  });
});
