import type { Mark, SampleSource } from '@stagewatch/shared';
import type { SqliteStore, StoredMark, StoredSample } from './sqlite.js';
import { SOURCES } from './schema.js';

/** Reads for the InfluxDB sink: what lies past a cursor, and what it needs to tag it. */
export function getMeta(store: SqliteStore, key: string): string | null {
  const r = store.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return r ? r.value : null;
}

export function setMeta(store: SqliteStore, key: string, value: string): void {
  store.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** Samples stored after a cursor (rowid), oldest first, with their run and host: what a sink reads. */
export function samplesAfter(store: SqliteStore, cursor: number, limit: number): Array<StoredSample & { rowid: number; runId: string; rid: number; hid: number }> {
  const rows = store.db
    .prepare(
      `SELECT s.rowid, s.rid, s.hid, r.id AS runId, h.name AS host, s.t, s.source, s.gpu, s.m FROM samples s
       JOIN runs r ON r.rid = s.rid JOIN hosts h ON h.hid = s.hid WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?`,
    )
    .all(cursor, limit) as Array<{ rowid: number; rid: number; hid: number; runId: string; host: string; t: number; source: number; gpu: number | null; m: Buffer }>;
  return rows.map((r) => {
    const base = { rowid: r.rowid, rid: r.rid, hid: r.hid, runId: r.runId, t: r.t, host: r.host, source: SOURCES[r.source] as SampleSource, m: store.decode(r.m) };
    return r.gpu === null ? base : { ...base, gpu: r.gpu };
  });
}

/** Marks stored after a cursor (rowid), oldest first. */
export function marksAfter(store: SqliteStore, cursor: number, limit: number): Array<StoredMark & { rowid: number; runId: string; rid: number; hid: number }> {
  const rows = store.db
    .prepare(
      `SELECT m.rowid, m.rid, m.hid, r.id AS runId, h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.source FROM marks m
       JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE m.rowid > ? ORDER BY m.rowid LIMIT ?`,
    )
    .all(cursor, limit) as Array<{ rowid: number; rid: number; hid: number; runId: string; host: string; t: number; kind: 'begin' | 'end'; stage: string; step: number | null; rank: number | null; source: Mark['source'] }>;
  return rows.map((r) => ({
    rowid: r.rowid, rid: r.rid, hid: r.hid, runId: r.runId, host: r.host, t: r.t, kind: r.kind, stage: r.stage, source: r.source,
    ...(r.step !== null ? { step: r.step } : {}),
    ...(r.rank !== null ? { rank: r.rank } : {}),
  }));
}

/** Marks of one run and host up to time t: enough to know which stage was open then. */
export function marksUpTo(store: SqliteStore, rid: number, hid: number, t: number): Array<{ t: number; kind: 'begin' | 'end'; stage: string; step?: number; rank?: number }> {
  const rows = store.db
    .prepare('SELECT t, kind, stage, step, rank FROM marks WHERE rid = ? AND hid = ? AND t <= ? ORDER BY t')
    .all(rid, hid, t) as Array<{ t: number; kind: 'begin' | 'end'; stage: string; step: number | null; rank: number | null }>;
  return rows.map((r) => ({ t: r.t, kind: r.kind, stage: r.stage, ...(r.step !== null ? { step: r.step } : {}), ...(r.rank !== null ? { rank: r.rank } : {}) }));
}

/** Time of the latest begin of a stage (same step and rank) at or before t, or null. */
export function latestBegin(store: SqliteStore, rid: number, hid: number, stage: string, step: number | null, rank: number | null, t: number): number | null {
  const r = store.db
    .prepare(`SELECT max(t) AS t FROM marks WHERE rid = ? AND hid = ? AND stage = ? AND step IS ? AND rank IS ? AND kind = 'begin' AND t <= ?`)
    .get(rid, hid, stage, step, rank, t) as { t: number | null };
  return r.t;
}

export function maxRowids(store: SqliteStore): { samples: number; marks: number } {
  const s = store.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM samples').get() as { n: number };
  const m = store.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM marks').get() as { n: number };
  return { samples: s.n, marks: m.n };
}

/** GPU uuid and name by host and index, for tags. */
export function gpuTags(store: SqliteStore): Map<string, { uuid: string; name: string }> {
  const rows = store.db.prepare('SELECT h.name AS host, g.idx, g.uuid, g.name FROM gpus g JOIN hosts h ON h.hid = g.hid').all() as Array<{ host: string; idx: number; uuid: string; name: string }>;
  return new Map(rows.map((r) => [`${r.host}\u0000${r.idx}`, { uuid: r.uuid, name: r.name }]));
}
