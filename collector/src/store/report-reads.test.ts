import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Sample } from '@stagewatch/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { SLOT_COUNT, SLOT_NAMES, slotOf } from '../analysis/slots.js';
import { bucketSeries, bucketSeriesFromStore } from '../report/series.js';
import { pendingBatch, SqliteStore } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-reads-'));
  dirs.push(d);
  return d;
};

function storeWith(dir: string, host: string, samples: Sample[]): SqliteStore {
  const store = new SqliteStore(dir);
  const reg = store.registerAgent({ type: 'hello', protocol: 1, agentId: `a-${host}`, host, runId: 'run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 't' }, 1);
  store.writeBatches([pendingBatch(`a-${host}`, reg.hid, host, { type: 'batch', seq: 1, runId: 'run', samples, health: [], marks: [], clock: null, loss: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 } })], 1);
  return store;
}

/** What forEachSampleRow hands the report, as plain samples with the slot metrics only. */
function viaRows(store: SqliteStore): Sample[] {
  const out: Sample[] = [];
  store.reportReads().forEachSampleRow('run', slotOf, SLOT_COUNT, (r) => {
    const m: Record<string, number> = {};
    r.values.forEach((v, i) => {
      if (!Number.isNaN(v)) m[SLOT_NAMES[i] as string] = v;
    });
    out.push({ t: r.t, host: r.host, source: r.source, ...(r.gpu !== undefined ? { gpu: r.gpu } : {}), ...(r.dur !== undefined ? { dur_ms: r.dur } : {}), ...(r.pid !== undefined ? { pid: r.pid } : {}), m });
  });
  return out;
}

describe("the report's row iterator", () => {
  it('gives back every row with its interval and pid, in time order across page boundaries and ties', () => {
    // 10,000 rows, many sharing a time stamp, so pages (4,096 rows) end inside a run of ties.
    const samples: Sample[] = [];
    for (let i = 0; i < 10_000; i++) {
      const t = 1_000_000 + Math.floor(i / 7) * 100;
      const k = i % 3;
      if (k === 0) samples.push({ t, host: 'h1', source: 'gpu', gpu: i % 8, dur_ms: 100.25, m: { util_pct: i % 101, sm_active_pct: 12.5, temp_c: 40 } });
      if (k === 1) samples.push({ t, host: 'h1', source: 'proc', ...(i % 2 ? { pid: 4_000_000 + i } : {}), m: { thread_max_pct: 99, rank: 1, cpu_cores: i % 2 ? 5 : 1 } });
      if (k === 2) samples.push({ t, host: 'h1', source: 'host', dur_ms: 3_600_000, m: { cpu_core_max_pct: 97.5 } });
    }
    const store = storeWith(tmp(), 'h1', samples);
    const direct = [...store.samples('run')].map((s) => ({ ...s, m: Object.fromEntries(Object.entries(s.m).filter(([k]) => slotOf(k) >= 0)) }));
    expect(direct.length).toBe(10_000);
    expect(direct.filter((s) => s.source === 'proc' && s.pid !== undefined).length).toBe(1667);
    expect(viaRows(store)).toEqual(direct);
    // Block order (the report's aggregation): the same rows, each series still in time order.
    const byBlock: Sample[] = [];
    store.reportReads().forEachSampleRow('run', slotOf, SLOT_COUNT, (r) => byBlock.push({ t: r.t, host: r.host, source: r.source, ...(r.gpu !== undefined ? { gpu: r.gpu } : {}), ...(r.pid !== undefined ? { pid: r.pid } : {}), m: {} }), undefined, 'block');
    const key = (x: Sample): string => `${x.source}/${x.gpu ?? ''}/${x.pid ?? ''}`;
    expect(byBlock.map((x) => `${key(x)}@${x.t}`).sort()).toEqual(direct.map((x) => `${key(x)}@${x.t}`).sort());
    const lastOf = new Map<string, number>();
    for (const x of byBlock) {
      expect(x.t).toBeGreaterThanOrEqual(lastOf.get(key(x)) ?? -Infinity);
      lastOf.set(key(x), x.t);
    }
    expect(store.reportReads().lastSampleTimes('run')).toEqual(new Map([['h1', 1_000_000 + Math.floor(9999 / 7) * 100]]));
    // The charts' series read the same way, and leave out per-process samples (not the tree total).
    const charts = bucketSeriesFromStore(store, 'run', 'h1', 300, 0);
    expect(charts).toEqual(bucketSeries('h1', store.samples('run'), 300, 0));
    expect(charts.series['proc.cpu_cores']?.filter((v) => v !== null).every((v) => v === 1)).toBe(true);
    expect(Object.keys(charts.series)).toContain('gpu7.sm_active_pct');
    store.close();
  });

  it('opens a store from before dur_ms and pid, adds the columns, and reads old rows without them', () => {
    const dir = tmp();
    const old = new Database(path.join(dir, 'stagewatch.sqlite'));
    old.exec(`CREATE TABLE samples(rid INTEGER NOT NULL, hid INTEGER NOT NULL, t INTEGER NOT NULL, source INTEGER NOT NULL, gpu INTEGER, m BLOB NOT NULL);
      CREATE TABLE runs(rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('run', 'timeline')), started_at INTEGER NOT NULL, ended_at INTEGER, exit_code INTEGER);
      CREATE TABLE hosts(hid INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
      CREATE TABLE run_hosts(rid INTEGER NOT NULL, hid INTEGER NOT NULL, PRIMARY KEY (rid, hid)) WITHOUT ROWID;
      CREATE TABLE metric_names(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
      INSERT INTO runs VALUES (1, 'run', 'run', 0, NULL, NULL); INSERT INTO hosts VALUES (1, 'old'); INSERT INTO run_hosts VALUES (1, 1);
      INSERT INTO metric_names VALUES (1, 'util_pct');`);
    const m = Buffer.alloc(10);
    m.writeUInt16LE(1, 0);
    m.writeDoubleLE(42, 2);
    old.prepare('INSERT INTO samples VALUES (1, 1, 5000, 0, 3, ?)').run(m);
    old.close();
    const store = new SqliteStore(dir);
    expect([...store.samples('run')]).toEqual([{ t: 5000, host: 'old', source: 'gpu', gpu: 3, m: { util_pct: 42 } }]);
    expect(viaRows(store)).toEqual([{ t: 5000, host: 'old', source: 'gpu', gpu: 3, m: { util_pct: 42 } }]);
    store.close();
  });
});
